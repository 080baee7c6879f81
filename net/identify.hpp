#pragma once
// identify /ipfs/id/1.0.0: the responder writes one uvarint-length-prefixed Identify protobuf
// (at most 8 KiB, as go and js enforce) and closes the stream. Addresses stay in their binary
// multiaddr form here; the host converts them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"

namespace swarmd::net {

inline constexpr std::string_view kIdentifyProtocol = "/ipfs/id/1.0.0";
inline constexpr std::size_t kMaxIdentifyMessageSize = 8 * 1024;
inline constexpr std::string_view kAgentVersion = "swarmd/0.1.0";
inline constexpr std::string_view kIdentifyProtocolVersion = "ipfs/0.1.0";

struct IdentifyInfo {
    std::optional<crypto::PublicKey> public_key;
    std::vector<Bytes> listen_addrs;  // binary multiaddrs
    std::optional<Bytes> observed_addr;
    std::vector<std::string> protocols;
    std::string agent_version;
    std::string protocol_version;
    // A signed peer record envelope (net/peer_record.hpp), verified by the host, not here.
    std::optional<Bytes> signed_peer_record;

    // Whether the peer said it serves `protocol`.
    bool lists(std::string_view protocol) const {
        for (const auto& p : protocols)
            if (p == protocol) return true;
        return false;
    }
};

// The Identify protobuf body (no length prefix). Fails with message_too_large when it would not
// fit in kMaxIdentifyMessageSize, so a peer never receives a message it must reject.
Result<Bytes> encode_identify(const IdentifyInfo& info);

// Parses an Identify body. A peer must send its public key (js rejects identify without one,
// and swarmd checks it against the connection's peer id): missing or malformed keys are errors.
Result<IdentifyInfo> decode_identify(ByteSpan body);

}  // namespace swarmd::net
