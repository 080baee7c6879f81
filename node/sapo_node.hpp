#pragma once
// The daemon's SAPO mode, on the io thread: the rollouts topic (validator and delivery), the
// SAPO engine on its compute thread, self-pacing against the slowest active author, the final
// merge over /swarmd/merge/1.0.0 per architecture group, and the SAPO fields of heartbeats,
// /api/status and /metrics. The daemon owns the host, gossip and HTTP and calls in here.
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "crypto/peer_id.hpp"
#include "net/gossipsub.hpp"
#include "node/metrics.hpp"
#include "node/sapo_engine.hpp"
#include "node/sapo_merge.hpp"
#include "node/spec.hpp"

namespace swarmd::net {
class Host;
class Pubsub;
}  // namespace swarmd::net

namespace swarmd::node {

struct SapoNodeOptions {
    static constexpr std::chrono::seconds kDefaultTrainAloneAfter{30};
    static constexpr std::chrono::milliseconds kDefaultMergeTick{500};
    static constexpr std::chrono::seconds kDefaultAuthorActive{5};

    bool relay_only = false;    // a bootstrap node validates and relays; it trains nothing
    std::string policy;         // the architecture to run; empty: the spec's first
    std::filesystem::path dir;  // <data dir>/sapo
    std::chrono::milliseconds round_interval = SapoEngineOptions::kDefaultRoundInterval;
    std::chrono::milliseconds train_alone_after = kDefaultTrainAloneAfter;
    std::chrono::milliseconds merge_tick = kDefaultMergeTick;
    std::chrono::milliseconds author_active = kDefaultAuthorActive;  // for pacing
    MergeCoordinatorOptions merge;
};

class SapoNode {
  public:
    using Clock = std::chrono::steady_clock;

    SapoNode(boost::asio::io_context& io, net::Host& host, net::Pubsub& pubsub, const Spec& spec,
             const SwarmId& swarm_id, crypto::PeerId self, Metrics& metrics,
             SapoNodeOptions options);
    ~SapoNode();

    // Subscribes to the rollouts topic, serves the merge protocol and starts the engine (its
    // base policy first); rounds start at the first peer or after train_alone_after.
    void start();
    // A peer was identified: the node has joined.
    void peer_identified();
    // Finishes the current step, saves the policy and stops the timers.
    void stop();

    // A heartbeat from another node (already parsed; the status validator checked it is JSON).
    void on_status(const crypto::PeerId& author, const nlohmann::json& beat);
    // Adds or replaces the SAPO fields of our heartbeat / status JSON.
    void heartbeat(nlohmann::json& beat) const;
    void status(nlohmann::json& status) const;
    // Sets the SAPO metrics (called before /metrics renders).
    void update_metrics();

    std::string topic() const;

  private:
    net::gossipsub::Validation validate(const net::gossipsub::Delivery& d);
    void deliver(const net::gossipsub::Delivery& d);
    void publish(std::uint64_t round, Bytes batch);
    void on_progress(const SapoProgress& p);
    void on_commit(SharedWeights weights);
    void begin_rounds();
    void update_floor();
    void publish_heartbeat();
    void merge_tick();
    void start_fetch(MergeCoordinator::Fetch fetch);
    void feed_coordinator(const crypto::PeerId& peer);

    boost::asio::io_context& m_io;
    net::Host& m_host;
    net::Pubsub& m_pubsub;
    const Spec m_spec;
    const SwarmId m_swarm_id;
    const crypto::PeerId m_self;
    Metrics& m_metrics;
    SapoNodeOptions m_options;
    rl::WireLimits m_limits;
    std::set<std::pair<rl::Family, std::uint8_t>> m_mix;

    std::unique_ptr<SapoEngine> m_engine;
    std::optional<MergeCoordinator> m_merge;
    SapoProgress m_progress;
    std::optional<SapoMergeOutcome> m_merged;
    bool m_begun = false;
    bool m_stopping = false;

    // Validated batches waiting for their delivery (the router validates, then delivers).
    std::unordered_map<std::string, rl::CheckedBatch> m_validated;
    std::deque<std::string> m_validated_order;
    std::set<std::pair<crypto::PeerId, std::uint64_t>> m_seen;  // (author, round) accepted
    std::map<crypto::PeerId, std::pair<std::uint64_t, Clock::time_point>> m_author_rounds;

    struct PeerBeat {
        std::string policy;
        std::optional<WeightsCommitment> commitment;
        std::vector<crypto::PeerId> merged_from;
        Clock::time_point at;
        std::uint64_t round = 0;
        double reward = -1.0;
    };
    std::map<crypto::PeerId, PeerBeat> m_beats;

    boost::asio::steady_timer m_alone_timer;
    boost::asio::steady_timer m_merge_timer;

    Counter& m_batches_in;
    Counter& m_batches_out;
    Counter& m_batches_rejected;
    Counter& m_batches_ignored;
};

}  // namespace swarmd::node
