#pragma once
// The status topic of one swarm: its validator and the table of other nodes' last heartbeats.
//
// The topic carries heartbeats and merge orders of a fixed schema (node/ops/status_message.hpp);
// anything else, and a merge order not signed by one of the spec's operators, is rejected: never
// forwarded, and held against the peer that sent it. Each author gets a token bucket; what is
// over it is ignored (not forwarded, not held against the forwarder).
//
// The table is bounded: directly connected authors always get in (an authenticated connection
// each, which the host bounds), in place of the stalest author heard only through gossip;
// others only while the table and their forwarder's share of it have room. Authors not heard
// for `forget_after_beats` intervals are forgotten. Every refusal is counted on
// swarmd_status_refused_total{reason}. Sans-I/O: the caller passes deliveries and the time.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "crypto/peer_id.hpp"
#include "net/gossipsub.hpp"
#include "node/ops/metrics.hpp"
#include "node/ops/status_message.hpp"

namespace swarmd::node {

struct StatusBoardOptions {
    static constexpr std::size_t kDefaultMaxAuthors = 1024;

    std::size_t max_authors = kDefaultMaxAuthors;
    // Table entries that one neighbour may have brought in (authors heard only through it): one
    // connection cannot fill the table with made-up trainers.
    std::size_t max_per_forwarder = kDefaultMaxAuthors / 4;
    std::chrono::milliseconds interval{2000};  // the heartbeat interval
    int forget_after_beats = 30;
    // Status messages per author: a burst, then this many per heartbeat interval (a node sends
    // one heartbeat per interval, and one more out of turn when it starts training or commits
    // weights).
    double burst = 8;
    double per_interval = 2;
};

// Per-author token buckets, bounded in authors: a bucket that has filled up again carries no
// state worth keeping and is dropped when the table is full.
class StatusRate {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxAuthors = 4096;

    StatusRate(double burst, double per_second) : m_burst(burst), m_rate(per_second) {}
    bool admit(const crypto::PeerId& author, Clock::time_point now);

  private:
    struct Bucket {
        double tokens;
        Clock::time_point at;
    };
    void refill(Bucket& b, Clock::time_point now) const;
    void prune(Clock::time_point now);

    double m_burst;
    double m_rate;
    std::map<crypto::PeerId, Bucket> m_buckets;
};

class StatusBoard {
  public:
    using Clock = std::chrono::steady_clock;
    using IsDirect = std::function<bool(const crypto::PeerId&)>;
    using Forget = std::function<void(const crypto::PeerId&)>;

    // `direct` says whether a peer is directly connected; `forget` hears of each author the
    // table drops (stale, or to make room).
    StatusBoard(ByteSpan swarm_id, crypto::PeerId self, std::vector<crypto::PeerId> operators,
                Metrics& metrics, StatusBoardOptions options, IsDirect direct, Forget forget);

    // Keeps the decoded message in d.decoded for receive().
    net::gossipsub::Validation validate(net::gossipsub::Delivery& d, Clock::time_point now);

    // What a delivery (validated) carries for the node: a merge order to follow (sent as one, or
    // passed on in a heartbeat), and the heartbeat of another node once the table took it.
    struct Received {
        std::optional<MergeOrder> order;
        std::optional<Heartbeat> beat;
    };
    Received receive(const net::gossipsub::Delivery& d, Clock::time_point now);

    // Forgets the authors not heard for forget_after_beats intervals.
    void prune(Clock::time_point now);

    bool is_operator(const crypto::PeerId& peer) const;
    const std::vector<crypto::PeerId>& operators() const noexcept { return m_operators; }
    std::size_t size() const noexcept { return m_peers.size(); }
    // {peer id: {round, merge_state, merged_hash, accuracy, role, checkpoints}} for /api/status.
    nlohmann::json peers_json() const;

  private:
    struct PeerStatus {
        crypto::PeerId peer;
        Heartbeat beat;
        Clock::time_point heard;
        crypto::PeerId received_from;  // the neighbour that brought in the first heartbeat
    };
    using Table = std::map<std::string, PeerStatus>;  // by base58 id, as /api/status lists them

    bool admit_author(const net::gossipsub::Delivery& d);
    void forget(Table::iterator it);
    Counter& refused(std::string_view reason);

    Bytes m_swarm_id;
    crypto::PeerId m_self;
    std::vector<crypto::PeerId> m_operators;
    Metrics& m_metrics;
    StatusBoardOptions m_options;
    IsDirect m_direct;
    Forget m_forget;
    StatusRate m_rate;
    Table m_peers;
};

}  // namespace swarmd::node
