#pragma once
// Signed peer records: a PeerRecord {peer id, seq, addresses} (RFC 0003) wrapped in a signed
// envelope (RFC 0002). They let a third party vouch for nothing: whoever relays a record (identify,
// gossipsub PRUNE peer exchange), the addresses in it are signed by the peer they belong to.
// Domain and payload type follow go-libp2p and js-libp2p ("libp2p-peer-record", multicodec
// 0x0301), which is what they verify, rather than the RFC text's "libp2p-routing-state".
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/envelope.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::net {

inline constexpr std::string_view kPeerRecordDomain = "libp2p-peer-record";
// uvarint(0x0301), the libp2p-peer-record multicodec.
inline constexpr std::array<std::uint8_t, 2> kPeerRecordPayloadType = {0x03, 0x01};
inline constexpr std::size_t kMaxRecordAddresses = 32;

struct PeerRecord {
    crypto::PeerId peer_id;
    std::uint64_t seq = 0;
    std::vector<Multiaddr> addresses;
};

// The PeerRecord protobuf (unsigned payload) and its decoder. Addresses swarmd cannot parse
// (transports it does not know) are dropped rather than failing the record.
Bytes encode_peer_record(const PeerRecord& record);
Result<PeerRecord> decode_peer_record(ByteSpan payload);

// The serialized envelope holding `record` signed by `key`. The record's peer id must be the
// key's (invalid_state otherwise): a node only signs its own addresses.
Result<Bytes> seal_peer_record(const PeerRecord& record, const crypto::PrivateKey& key);

// Verifies an envelope and returns its record: size cap, payload type, signature over the
// signing buffer, and the record's peer id against the envelope key's.
Result<PeerRecord> open_peer_record(ByteSpan envelope);
// As open_peer_record, and the record must be `expected`'s (peer_id_mismatch otherwise): for
// records relayed by a third party under a peer id it claims.
Result<PeerRecord> open_peer_record(ByteSpan envelope, const crypto::PeerId& expected);

// The newest verified record per peer, bounded: when full, the record stored longest ago goes.
// Keeps the envelope bytes so it can be passed on (PX) with the issuer's signature intact.
class PeerRecordStore {
  public:
    static constexpr std::size_t kDefaultMaxRecords = 1024;

    explicit PeerRecordStore(std::size_t max_records = kDefaultMaxRecords)
        : m_max_records(max_records) {}

    // Opens `envelope` and stores it unless a record with an equal or higher seq is held
    // (stale_record). `expected`, when given, must be the record's peer id (peer_id_mismatch).
    Result<PeerRecord> add(ByteSpan envelope, const std::optional<crypto::PeerId>& expected = {});
    // The stored envelope for `peer`, if any.
    const Bytes* envelope(const crypto::PeerId& peer) const;
    std::size_t size() const noexcept { return m_records.size(); }

  private:
    struct Entry {
        std::uint64_t seq;
        Bytes envelope;
    };
    std::size_t m_max_records;
    std::unordered_map<crypto::PeerId, Entry> m_records;
    std::deque<crypto::PeerId> m_order;  // insertion order, for eviction
};

}  // namespace swarmd::net
