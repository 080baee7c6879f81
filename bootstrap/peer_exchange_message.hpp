#pragma once
// The /swarmd/peers/1.0.0 response (bootstrap/peer_exchange.hpp runs the exchange): a uvarint
// count of peers, each a length-prefixed peer id and a uvarint count of length-prefixed binary
// TCP multiaddrs. Sans-I/O, so the clang fuzz build links it without Asio.
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::bootstrap {

inline constexpr std::size_t kMaxExchangedPeers = 16;
inline constexpr std::size_t kMaxExchangedAddrs = 4;
inline constexpr std::size_t kMaxPeersMessage = 8 * 1024;

struct PeerInfo {
    crypto::PeerId peer;
    std::vector<std::string> addrs;  // multiaddrs without /p2p/
};

Bytes encode_peers(const std::vector<PeerInfo>& peers);
Result<std::vector<PeerInfo>> decode_peers(ByteSpan bytes);

}  // namespace swarmd::bootstrap
