#pragma once
// Gossipsub v1.1 router (libp2p/specs pubsub/gossipsub), sans-I/O.
//
// The host drives it: add_peer() when a peer's gossipsub stream pair is up (one outbound stream
// for writing, one inbound for reading), handle_data() with the bytes read from the inbound
// stream, heartbeat() every heartbeat_interval, on_written() when queued bytes leave for the
// socket, remove_peer() when the connection closes. Every call takes the current time and returns
// Actions: frames to write to a peer's outbound stream, validated messages for the application,
// PX peers to dial and peers to drop. Nothing here blocks, sleeps or reads a clock.
//
// Wire: /meshsub/1.1.0 and /meshsub/1.0.0 (1.0 peers get PRUNE without backoff and PX), RPCs
// uvarint-length-prefixed, StrictSign messages, message id = from || seqno (see
// gossipsub_message.hpp). Not implemented: direct (explicit) peers, floodsub peers, IDONTWANT
// (/meshsub/1.2.0), signed peer records (PX records are passed through unverified).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/detail/gossipsub_caches.hpp"
#include "net/gossipsub_error.hpp"
#include "net/gossipsub_message.hpp"
#include "net/gossipsub_score.hpp"
#include "net/length_prefixed.hpp"

namespace swarmd::net::gossipsub {

inline constexpr std::string_view kProtocolV10 = "/meshsub/1.0.0";
inline constexpr std::string_view kProtocolV11 = "/meshsub/1.1.0";

enum class Protocol { v10, v11 };
std::optional<Protocol> parse_protocol(std::string_view id);

enum class Validation { accept, reject, ignore };

// A message that passed the signature check and the topic's validator.
struct Delivery {
    std::string topic;
    Bytes data;
    crypto::PeerId author;
    std::uint64_t seqno = 0;
    MessageId id;
    crypto::PeerId received_from;
    // The author's StrictSign signature: with author, data, seqno and topic it lets the
    // application keep evidence that others can re-verify (node/zo/wire.hpp).
    Bytes signature;
    // What the topic's validator decoded from `data`, handed on with the delivery so that the
    // subscriber neither decodes again nor keeps a side table; the subscriber may move out of
    // it. Empty when the validator kept nothing, and for our own messages.
    std::shared_ptr<void> decoded;

    template <class T>
    T* decoded_as() const noexcept {
        return static_cast<T*>(decoded.get());
    }
};

// Runs before a message is forwarded; reject counts against the sending peer's score (P4). It
// may keep what it decoded in `decoded`.
using Validator = std::function<Validation(Delivery&)>;

struct Send {
    crypto::PeerId peer;
    Bytes data;  // one or more length-prefixed RPCs for the peer's outbound stream
};
struct Connect {
    crypto::PeerId peer;
    Bytes signed_peer_record;  // as received in PX, unverified; may be empty
};
struct Disconnect {
    crypto::PeerId peer;
    std::error_code reason;
};

struct Actions {
    std::vector<Send> sends;
    std::vector<Delivery> deliveries;
    std::vector<Connect> connects;
    std::vector<Disconnect> disconnects;

    bool empty() const noexcept {
        return sends.empty() && deliveries.empty() && connects.empty() && disconnects.empty();
    }
};

// Running totals, for metrics and the simulator.
struct Stats {
    std::uint64_t published = 0;
    std::uint64_t delivered = 0;          // messages handed to the application
    std::uint64_t messages_received = 0;  // Message entries received, duplicates included
    std::uint64_t duplicates = 0;
    // Why messages were rejected (rejected() is their sum).
    std::uint64_t rejected_unsigned = 0;     // no from, seqno or signature
    std::uint64_t rejected_signature = 0;    // a signature or author key that does not verify
    std::uint64_t rejected_forged_self = 0;  // claims our own id, never published by us
    std::uint64_t rejected_invalid = 0;      // the topic's validator said reject
    std::uint64_t ignored = 0;               // validator ignore, or a topic we are not in
    std::uint64_t messages_sent = 0;         // Message entries written, IWANT answers included
    std::uint64_t rpcs_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t control_bytes_sent = 0;  // subscriptions + control parts of RPCs
    std::uint64_t ihave_ids_sent = 0;
    std::uint64_t iwant_ids_sent = 0;
    std::uint64_t grafts_sent = 0;
    std::uint64_t prunes_sent = 0;
    std::uint64_t graylisted_rpcs = 0;
    // Why peers were dropped (peers_dropped() is their sum).
    std::uint64_t dropped_too_large = 0;  // an RPC frame beyond max_rpc_size
    std::uint64_t dropped_malformed = 0;  // a frame that is not an RPC, or broken framing
    std::uint64_t dropped_other = 0;

    std::uint64_t rejected() const noexcept {
        return rejected_unsigned + rejected_signature + rejected_forged_self + rejected_invalid;
    }
    std::uint64_t peers_dropped() const noexcept {
        return dropped_too_large + dropped_malformed + dropped_other;
    }
};

struct Options {
    static constexpr std::size_t kD = 6;
    static constexpr std::size_t kDLo = 4;
    static constexpr std::size_t kDHi = 12;
    static constexpr std::size_t kDLazy = 6;
    static constexpr std::size_t kDScore = 4;
    static constexpr std::size_t kDOut = 2;
    static constexpr std::size_t kMcacheLen = 5;
    static constexpr std::size_t kMcacheGossip = 3;
    static constexpr double kGossipFactor = 0.25;
    static constexpr std::size_t kPrunePeers = 16;
    static constexpr std::size_t kMaxIHaveLength = 5000;
    static constexpr std::size_t kMaxIHaveMessages = 10;
    static constexpr unsigned kGossipRetransmission = 3;
    static constexpr std::size_t kOpportunisticGraftTicks = 60;
    static constexpr std::size_t kOpportunisticGraftPeers = 2;
    static constexpr std::size_t kMaxRpcSize = 1 << 20;  // go's DefaultMaxMessageSize
    static constexpr std::size_t kMaxOutboundQueueBytes = 16 << 20;
    static constexpr std::size_t kMaxSeenEntries = 1 << 20;
    static constexpr std::size_t kMaxMcacheBytes = 256 << 20;
    static constexpr std::size_t kMaxTopicsPerPeer = 256;
    static constexpr std::size_t kMaxTopicLength = 512;
    static constexpr std::size_t kMaxMessageIdLength = 256;

    std::size_t d = kD;
    std::size_t d_lo = kDLo;
    std::size_t d_hi = kDHi;
    std::size_t d_lazy = kDLazy;
    std::size_t d_score = kDScore;
    std::size_t d_out = kDOut;
    Duration heartbeat_interval = std::chrono::seconds(1);
    Duration fanout_ttl = std::chrono::seconds(60);
    std::size_t mcache_len = kMcacheLen;
    std::size_t mcache_gossip = kMcacheGossip;
    Duration seen_ttl = std::chrono::seconds(120);
    double gossip_factor = kGossipFactor;
    Duration prune_backoff = std::chrono::seconds(60);
    Duration unsubscribe_backoff = std::chrono::seconds(10);
    Duration graft_flood_threshold = std::chrono::seconds(10);
    bool do_px = true;
    std::size_t prune_peers = kPrunePeers;
    std::size_t max_ihave_length = kMaxIHaveLength;
    std::size_t max_ihave_messages = kMaxIHaveMessages;
    Duration iwant_followup = std::chrono::seconds(3);
    unsigned gossip_retransmission = kGossipRetransmission;
    std::size_t opportunistic_graft_ticks = kOpportunisticGraftTicks;
    std::size_t opportunistic_graft_peers = kOpportunisticGraftPeers;
    bool flood_publish = true;
    std::size_t max_rpc_size = kMaxRpcSize;
    std::size_t max_outbound_queue_bytes = kMaxOutboundQueueBytes;
    std::size_t max_seen_entries = kMaxSeenEntries;
    std::size_t max_mcache_bytes = kMaxMcacheBytes;
    std::size_t max_topics_per_peer = kMaxTopicsPerPeer;
    std::size_t max_topic_length = kMaxTopicLength;
    // Also attach our PublicKey to messages (js does; go does not for Ed25519 ids).
    bool sign_include_key = false;
    // Deliver our own published messages to our own subscription.
    bool deliver_own = false;
    // Seeds the router's RNG (peer selection, IHAVE sampling); std::nullopt draws one from
    // std::random_device.
    std::optional<std::uint64_t> rng_seed;
    // First seqno of our messages; std::nullopt uses the wall clock in nanoseconds, so seqnos
    // stay monotonic across restarts, as go and rust do.
    std::optional<std::uint64_t> initial_seqno;
    ScoreParams score;
    ScoreThresholds thresholds;
    // Checks a message's StrictSign signature and returns its author; empty means
    // verify_message. The simulator shares one cache of results among its virtual nodes, since
    // every node would verify the same bytes; a daemon has no reason to set it.
    std::function<Result<crypto::PeerId>(const pb::Message&)> verifier;
};

class Router {
  public:
    explicit Router(crypto::PrivateKey key, Options options = {});
    ~Router();
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    const crypto::PeerId& self() const noexcept { return m_self; }
    const Options& options() const noexcept { return m_options; }

    // A peer whose gossipsub streams are open; sends it our subscriptions (the hello).
    // `ip` feeds the IP colocation score (P6) and may be empty.
    Actions add_peer(const crypto::PeerId& peer, bool outbound, Protocol protocol, Time now,
                     std::string ip = {});
    Actions remove_peer(const crypto::PeerId& peer, Time now);
    // Bytes read from the peer's inbound gossipsub stream (any chunking).
    Actions handle_data(const crypto::PeerId& peer, ByteSpan bytes, Time now);
    // The peer's inbound stream was replaced (its connection moved, say from a relay to a direct
    // one): what was read of an unfinished frame on the old stream is dropped.
    void restart_inbound(const crypto::PeerId& peer);
    // One RPC body (the length prefix already removed).
    Actions handle_rpc(const crypto::PeerId& peer, ByteSpan rpc, Time now);
    // The host wrote `bytes` of this peer's frames to the transport; frees queue budget.
    void on_written(const crypto::PeerId& peer, std::size_t bytes);

    Actions subscribe(const std::string& topic, Time now);
    Actions unsubscribe(const std::string& topic, Time now);
    // Signs and sends a message. Errors: topic_too_long, message_too_large.
    Result<Actions> publish(const std::string& topic, ByteSpan data, Time now);
    Actions heartbeat(Time now);

    void set_validator(const std::string& topic, Validator validator);
    void set_app_score(const crypto::PeerId& peer, double score);
    // Signed peer record envelopes to attach to the PX entries of PRUNEs (null: none known).
    using RecordLookup = std::function<const Bytes*(const crypto::PeerId&)>;
    void set_peer_record_lookup(RecordLookup lookup) { m_record_lookup = std::move(lookup); }

    // Introspection.
    double score(const crypto::PeerId& peer) const { return m_score.score(peer); }
    std::vector<crypto::PeerId> mesh_peers(const std::string& topic) const;
    // How many of our topic meshes hold the peer.
    std::size_t mesh_topics(const crypto::PeerId& peer) const;
    std::vector<crypto::PeerId> fanout_peers(const std::string& topic) const;
    std::vector<crypto::PeerId> topic_peers(const std::string& topic) const;
    bool in_backoff(const crypto::PeerId& peer, const std::string& topic, Time now) const;
    bool has_peer(const crypto::PeerId& peer) const { return m_peers.contains(peer); }
    std::size_t queued_bytes(const crypto::PeerId& peer) const;
    std::size_t seen_size() const noexcept { return m_seen.size(); }
    std::size_t mcache_size() const noexcept { return m_mcache.size(); }
    std::size_t pending_promises() const noexcept;
    const Stats& stats() const noexcept { return m_stats; }

  private:
    struct PeerState;
    struct Pending;

    PeerState* find_peer(const crypto::PeerId& peer);
    Pending& pending(const crypto::PeerId& peer, PeerState& state);
    Actions flush();
    void drop_peer(const crypto::PeerId& peer, std::error_code reason, Time now);
    void detach(const crypto::PeerId& peer, Time now);
    void process_rpc(const crypto::PeerId& peer, ByteSpan rpc, Time now);

    void handle_subscription(const crypto::PeerId& peer, PeerState& state, bool subscribe,
                             const std::string& topic);
    void handle_message(const crypto::PeerId& peer, PeerState& state, pb::Message& message,
                        Time now);
    void handle_ihave(const crypto::PeerId& peer, PeerState& state,
                      const pb::ControlMessage& control, Time now);
    void handle_iwant(const crypto::PeerId& peer, PeerState& state,
                      const pb::ControlMessage& control);
    void handle_graft(const crypto::PeerId& peer, PeerState& state,
                      const pb::ControlMessage& control, Time now);
    void handle_prune(const crypto::PeerId& peer, const pb::ControlMessage& control, Time now);

    void forward(const detail::CachedMessagePtr& message, const crypto::PeerId& source,
                 const crypto::PeerId& author, bool own, Time now);
    void send_graft(const crypto::PeerId& peer, const std::string& topic);
    void send_prune(const crypto::PeerId& peer, const std::string& topic, bool do_px,
                    bool unsubscribe);
    void add_backoff(const crypto::PeerId& peer, const std::string& topic, Duration backoff,
                     Time now);
    bool backing_off(const crypto::PeerId& peer, const std::string& topic) const;
    void emit_gossip(const std::string& topic, const PeerSet& exclude);
    template <class Filter>
    std::vector<crypto::PeerId> select_peers(const std::string& topic, std::size_t count,
                                             Filter&& filter);
    void maintain_mesh(const std::string& topic, PeerSet& mesh, Time now);

    crypto::PrivateKey m_key;
    crypto::PeerId m_self;
    Options m_options;
    std::mt19937_64 m_rng;
    RecordLookup m_record_lookup;
    std::uint64_t m_seqno;
    std::uint64_t m_next_serial = 1;
    std::uint64_t m_heartbeat_ticks = 0;
    Time m_now{};  // the latest time a caller passed in, for drops decided inside flush()

    PeerMap<std::unique_ptr<PeerState>> m_peers;
    std::unordered_map<std::string, PeerSet> m_topics;  // topic -> peers subscribed to it
    std::unordered_set<std::string> m_subscriptions;
    std::unordered_map<std::string, PeerSet> m_mesh;
    std::unordered_map<std::string, PeerSet> m_fanout;
    std::unordered_map<std::string, Time> m_last_publish;
    std::unordered_map<std::string, PeerMap<Time>> m_backoff;
    std::unordered_map<std::string, Validator> m_validators;

    PeerScore m_score;
    detail::SeenCache m_seen;
    detail::MessageCache m_mcache;
    // IWANT promises: one tracked id per IHAVE answered; broken ones cost the peer P7.
    std::unordered_map<MessageId, std::vector<std::pair<crypto::PeerId, Time>>> m_promises;
    // Ids asked for and not yet received: not asked again from another peer until followup.
    std::unordered_map<MessageId, Time> m_iwant_pending;

    std::vector<crypto::PeerId> m_dirty;  // peers with output pending, in first-touched order
    Actions m_out;
    Stats m_stats;
};

}  // namespace swarmd::net::gossipsub
