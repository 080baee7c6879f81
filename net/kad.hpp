#pragma once
// Kademlia DHT /ipfs/kad/1.0.0 (libp2p/specs kad-dht), sans-I/O: the message codec, the key
// space, the k-bucket routing table, the iterative lookup, the provider store and the server's
// request handler. Time is passed in; nothing here reads a clock or does I/O. net/kad_service.*
// drives it on a Host.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "net/kad_error.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::net::kad {

inline constexpr std::string_view kProtocol = "/ipfs/kad/1.0.0";
inline constexpr std::size_t kBucketSize = 20;  // k
inline constexpr std::size_t kAlpha = 3;
inline constexpr std::size_t kKeyBits = 256;

using Time = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// ---- messages ---------------------------------------------------------------------------------

enum class MessageType {
    put_value = 0,
    get_value = 1,
    add_provider = 2,
    get_providers = 3,
    find_node = 4,
    ping = 5,
};

enum class ConnectionType { not_connected = 0, connected = 1, can_connect = 2, cannot_connect = 3 };

struct PeerInfo {
    crypto::PeerId id;
    std::vector<Multiaddr> addrs;
    ConnectionType connection = ConnectionType::not_connected;
};

struct Record {
    Bytes key;
    Bytes value;
    std::string time_received;
};

struct Message {
    MessageType type = MessageType::ping;
    Bytes key;
    std::optional<Record> record;
    std::vector<PeerInfo> closer_peers;
    std::vector<PeerInfo> provider_peers;
};

// Bounds on one message, checked on encode (so a peer never gets a message it must refuse) and
// on decode (before anything is kept). A multiaddr of a protocol swarmd does not know (webrtc,
// webtransport, ...) is skipped rather than refused: public DHT peers carry many of them.
struct Limits {
    static constexpr std::size_t kDefaultMaxMessageSize = 256 * 1024;
    static constexpr std::size_t kDefaultMaxPeers = 100;  // closer + provider peers
    static constexpr std::size_t kDefaultMaxAddrsPerPeer = 64;
    static constexpr std::size_t kDefaultMaxKeySize = 256;
    static constexpr std::size_t kDefaultMaxRecordSize = 16 * 1024;

    std::size_t max_message_size = kDefaultMaxMessageSize;
    std::size_t max_peers = kDefaultMaxPeers;
    std::size_t max_addrs_per_peer = kDefaultMaxAddrsPerPeer;
    std::size_t max_key_size = kDefaultMaxKeySize;
    std::size_t max_record_size = kDefaultMaxRecordSize;
};

// The protobuf body (no length prefix).
Result<Bytes> encode_message(const Message& message, const Limits& limits = {});
Result<Message> decode_message(ByteSpan body, const Limits& limits = {});

// ---- key space --------------------------------------------------------------------------------

// A point in the key space: SHA-256 of the key bytes (a peer id's multihash, a provider key's
// multihash, a record key).
class Key {
  public:
    using Bits = std::array<std::uint8_t, kKeyBits / 8>;

    Key() = default;
    explicit Key(const Bits& bits) : m_bits(bits) {}
    static Key from_bytes(ByteSpan key) { return Key(crypto::sha256(key)); }
    static Key from_peer(const crypto::PeerId& id) { return from_bytes(id.bytes()); }

    const Bits& bits() const noexcept { return m_bits; }
    friend bool operator==(const Key&, const Key&) = default;
    friend auto operator<=>(const Key&, const Key&) = default;

  private:
    Bits m_bits{};
};

// XOR distance; compares as a 256-bit big-endian integer.
using Distance = Key::Bits;
Distance distance(const Key& a, const Key& b) noexcept;
// Leading bits a and b share: 256 when equal.
std::size_t common_prefix_length(const Key& a, const Key& b) noexcept;
// A key sharing exactly `cpl` leading bits with `base` (cpl < 256), the rest from `random`
// (32 bytes): the target of a bucket refresh.
Key key_in_bucket(const Key& base, std::size_t cpl, ByteSpan random);

// The swarm rendezvous key: the sha2-256 multihash (0x12 0x20 || digest) of `text`, the key
// go-libp2p-pubsub's discovery provides ("floodsub:" + topic).
Bytes rendezvous_key(std::string_view text);
// The CIDv1 (raw codec, base32 multibase) form of a multihash key, for logs: "bafkrei...".
std::string key_cid(ByteSpan multihash);

// ---- routing table ----------------------------------------------------------------------------

struct RoutingOptions {
    static constexpr std::size_t kDefaultReplacementCacheSize = 8;
    // Addresses kept per entry: 256 buckets of k entries and their replacements stay a few MiB.
    static constexpr std::size_t kDefaultMaxAddrsPerPeer = 16;

    std::size_t bucket_size = kBucketSize;
    // Candidates kept per full bucket, most recently seen last; one replaces a bucket entry that
    // fails its ping or is removed.
    std::size_t replacement_cache_size = kDefaultReplacementCacheSize;
    std::size_t max_addrs_per_peer = kDefaultMaxAddrsPerPeer;
};

// 256 k-buckets by common prefix length with our own key. Only peers that speak kad in server
// mode belong here: the caller adds a peer when identify lists kProtocol or when it answered a
// kad request. A full bucket keeps its entries (long-lived peers stay) and parks the newcomer in
// the replacement cache; the caller pings the least recently seen entry and reports the result.
class RoutingTable {
  public:
    struct Entry {
        crypto::PeerId id;
        Key key;
        std::vector<Multiaddr> addrs;
        Time last_seen{};
    };

    enum class Outcome {
        added,    // now in its bucket
        updated,  // was there: moved to most recently seen, addresses refreshed
        pending,  // bucket full: parked in the replacement cache; ping `oldest`
        ignored,  // our own id
    };
    struct AddResult {
        Outcome outcome;
        std::optional<crypto::PeerId> oldest;  // with pending: the entry to ping
    };

    explicit RoutingTable(const crypto::PeerId& self, RoutingOptions options = {});

    AddResult add(const PeerInfo& peer, Time now);
    // The oldest entry answered its ping: it becomes most recently seen.
    void touch(const crypto::PeerId& id, Time now);
    // Removes a peer (a failed ping, a peer that stopped serving kad); the most recently seen
    // replacement of its bucket takes its place. Returns whether it was in the table.
    bool remove(const crypto::PeerId& id);

    bool contains(const crypto::PeerId& id) const;
    const Entry* find(const crypto::PeerId& id) const;
    // Up to n entries closest to target, nearest first.
    std::vector<const Entry*> closest(const Key& target, std::size_t n) const;
    std::size_t size() const noexcept { return m_size; }
    std::size_t bucket_size(std::size_t index) const { return m_buckets.at(index).entries.size(); }
    // Index of the bucket a key falls in: its common prefix length with us (255 at most).
    std::size_t bucket_index(const Key& key) const;
    // The highest non-empty bucket index (the longest shared prefix with us): refreshing
    // buckets past it would look up keys nobody we know is near.
    std::optional<std::size_t> deepest_nonempty_bucket() const;
    const Key& self_key() const noexcept { return m_self_key; }
    const crypto::PeerId& self() const noexcept { return m_self; }

  private:
    struct Bucket {
        std::deque<Entry> entries;       // least recently seen first
        std::deque<Entry> replacements;  // most recently seen last
    };

    Entry make_entry(const PeerInfo& peer, const Key& key, Time now) const;

    crypto::PeerId m_self;
    Key m_self_key;
    RoutingOptions m_options;
    std::vector<Bucket> m_buckets;
    std::size_t m_size = 0;
};

// ---- iterative lookup -------------------------------------------------------------------------

struct LookupOptions {
    static constexpr std::size_t kDefaultMaxCandidates = 8 * kBucketSize;
    static constexpr Duration kDefaultRequestTimeout = std::chrono::seconds(10);

    std::size_t alpha = kAlpha;
    std::size_t k = kBucketSize;
    // Peers tracked at once; the farthest un-queried ones are dropped beyond this.
    std::size_t max_candidates = kDefaultMaxCandidates;
    Duration request_timeout = kDefaultRequestTimeout;
};

// The spec's iterative lookup towards a target key: at most alpha queries in flight, always to
// the closest peers not yet asked; ends when the k closest peers seen have answered or failed
// (or nobody is left to ask). The caller sends the requests next() names and reports each answer
// or failure; a query not reported within request_timeout counts as failed.
class Lookup {
  public:
    Lookup(const crypto::PeerId& self, const Key& target, const std::vector<PeerInfo>& seeds,
           LookupOptions options = {});

    // Fails timed-out queries, then returns the peers to query now (none when done()).
    std::vector<PeerInfo> next(Time now);
    // An answer from a queried peer with the closer peers it named. Answers from peers not in
    // flight (late, unasked) are ignored.
    void on_response(const crypto::PeerId& from, const std::vector<PeerInfo>& closer, Time now);
    void on_failure(const crypto::PeerId& from);
    // Ends the lookup early (a provider lookup that has enough providers).
    void finish() noexcept { m_finished = true; }

    bool done() const;
    // The closest peers that answered, nearest first, at most k.
    std::vector<PeerInfo> closest() const;
    // When the earliest in-flight query times out.
    std::optional<Time> next_deadline() const;
    std::size_t in_flight() const noexcept { return m_in_flight; }
    const Key& target() const noexcept { return m_target; }

  private:
    enum class State { waiting, in_flight, answered, failed };
    struct Candidate {
        PeerInfo info;
        State state = State::waiting;
        Time deadline{};
    };

    void insert(const PeerInfo& peer);
    void expire(Time now);

    crypto::PeerId m_self;
    Key m_target;
    LookupOptions m_options;
    std::map<Distance, Candidate> m_candidates;  // nearest first
    std::size_t m_in_flight = 0;
    bool m_finished = false;
};

// ---- provider store ---------------------------------------------------------------------------

struct ProviderOptions {
    static constexpr std::size_t kDefaultMaxKeys = 4096;
    static constexpr std::size_t kDefaultMaxRecords = 32 * 1024;
    static constexpr std::size_t kDefaultMaxPerKey = 64;
    static constexpr Duration kDefaultRecordTtl = std::chrono::hours(48);
    static constexpr Duration kDefaultAddrTtl = std::chrono::hours(24);
    // Addresses kept per record: max_records of them bound the store to ~15 MiB.
    static constexpr std::size_t kDefaultMaxAddrsPerProvider = 8;

    std::size_t max_keys = kDefaultMaxKeys;
    std::size_t max_records = kDefaultMaxRecords;  // over all keys
    std::size_t max_per_key = kDefaultMaxPerKey;
    std::size_t max_key_size = Limits::kDefaultMaxKeySize;
    std::size_t max_addrs_per_peer = kDefaultMaxAddrsPerProvider;
    Duration record_ttl = kDefaultRecordTtl;
    Duration addr_ttl = kDefaultAddrTtl;
};

// The server side's provider records: key -> providers, each with the addresses it announced.
// A re-announcement refreshes a record; records expire after record_ttl, and their addresses are
// served only for addr_ttl (after that the asker finds the provider by its id). Answers list the
// most recently announced first, and a key at max_per_key drops its stalest record for a new
// one: providers that left stop re-announcing, and must not hide or keep out those that came.
class ProviderStore {
  public:
    explicit ProviderStore(ProviderOptions options = {}) : m_options(options) {}

    Result<void> add(ByteSpan key, const PeerInfo& provider, Time now);
    // Unexpired providers of key, most recently announced first, at most limit.
    std::vector<PeerInfo> get(ByteSpan key, Time now, std::size_t limit) const;
    void expire(Time now);
    std::size_t size() const noexcept { return m_records; }
    std::size_t keys() const noexcept { return m_by_key.size(); }

  private:
    struct Provider {
        PeerInfo info;
        Time added{};
    };

    ProviderOptions m_options;
    std::unordered_map<std::string, std::vector<Provider>> m_by_key;
    std::size_t m_records = 0;
};

// ---- server -----------------------------------------------------------------------------------

struct ServerOptions {
    static constexpr std::size_t kDefaultMaxProvidersPerResponse = kBucketSize;

    std::size_t closer_peers = kBucketSize;
    std::size_t max_providers_per_response = kDefaultMaxProvidersPerResponse;
};

// Answers one request from `sender`: FIND_NODE and GET_VALUE with the closest peers we know
// (GET_VALUE never with a record: swarmd stores no values), GET_PROVIDERS with providers and
// closer peers, PING with PING. ADD_PROVIDER stores the records whose peer is the sender and has
// no answer (nullopt). PUT_VALUE is refused (unsupported_request).
Result<std::optional<Message>> handle_request(const crypto::PeerId& sender, const Message& request,
                                              const RoutingTable& table, ProviderStore& providers,
                                              Time now, const ServerOptions& options = {});

// Whether `response` is an acceptable answer to `request`: the same type, and for keyed requests
// the same key or none (go and js send FIND_NODE answers without it).
bool response_matches(const Message& request, const Message& response);

}  // namespace swarmd::net::kad
