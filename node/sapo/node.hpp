#pragma once
// The daemon's SAPO mode, on the io thread: the rollouts topic (validator and delivery), the
// SAPO engine on its compute thread, the base policy (cached, fetched from peers over
// /swarmd/sapo-sync/1.0.0, or made here), self-pacing against the slowest active author, merge
// requests, the final merge over /swarmd/merge/1.0.0 per architecture group, and the SAPO fields
// of heartbeats, /api/status and /metrics. The daemon owns the host, gossip and HTTP and calls in
// here.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "crypto/peer_id.hpp"
#include "net/gossipsub.hpp"
#include "node/core/mode.hpp"
#include "node/core/pacing.hpp"
#include "node/ops/metrics.hpp"
#include "node/ops/status_message.hpp"
#include "node/sapo/engine.hpp"
#include "node/sapo/merge.hpp"
#include "node/spec/spec.hpp"

namespace swarmd::net {
class Host;
class Pubsub;
}  // namespace swarmd::net

namespace swarmd::node {

struct SapoNodeOptions {
    static constexpr std::chrono::seconds kDefaultTrainAloneAfter{30};
    static constexpr std::chrono::milliseconds kDefaultMergeTick{500};
    static constexpr std::chrono::seconds kDefaultAuthorActive{5};
    static constexpr std::chrono::seconds kDefaultBaseWait{8};

    bool relay_only = false;    // a bootstrap node validates and relays; it trains nothing
    std::string policy;         // the architecture to run; empty: the spec's first
    std::filesystem::path dir;  // <data dir>/sapo
    std::chrono::milliseconds round_interval = SapoEngineOptions::kDefaultRoundInterval;
    std::chrono::milliseconds train_alone_after = kDefaultTrainAloneAfter;
    std::chrono::milliseconds merge_tick = kDefaultMergeTick;
    std::chrono::milliseconds author_active = kDefaultAuthorActive;  // for pacing
    // A node without a cached base policy waits at most this long for two peers to announce
    // the same one before making it itself.
    std::chrono::milliseconds base_wait = kDefaultBaseWait;
    MergeCoordinatorOptions merge;
};

class SapoNode final : public ModeNode {
  public:
    using Clock = std::chrono::steady_clock;

    SapoNode(boost::asio::io_context& io, net::Host& host, net::Pubsub& pubsub, const Spec& spec,
             const SwarmId& swarm_id, crypto::PeerId self, Metrics& metrics,
             SapoNodeOptions options);
    ~SapoNode() override;

    // Subscribes to the rollouts topic, serves the merge and base policy protocols and starts
    // the engine once its base policy is there (cached, fetched from peers or made here);
    // rounds start at the first trainer heard or after train_alone_after.
    void start() override;
    // A peer was identified: the node has joined.
    void peer_identified(const crypto::PeerId& peer) override;
    // Finishes the current step, saves the policy and stops the timers.
    void stop() override;

    // A heartbeat from another node, as the status validator let it through.
    void on_status(const crypto::PeerId& author, const Heartbeat& beat) override;
    // The daemon forgot the author's heartbeat (stale, or to make room): so does this.
    void forget(const crypto::PeerId& author) override;
    // Sets the SAPO fields of our heartbeat.
    void heartbeat(Heartbeat& beat) const override;
    void status(nlohmann::json& status) const override;
    // Sets the SAPO metrics (called before /metrics renders).
    void update_metrics() override;

    std::string topic() const override;
    bool trains() const override { return m_engine != nullptr; }
    std::uint64_t current_round() const override;
    // The spec's merge round, or the lowest one a merge request named.
    std::uint64_t merge_round() const override;
    std::uint64_t staleness() const override {
        return static_cast<std::uint64_t>(m_spec.sapo.staleness);
    }
    // A signed merge request (ours or a peer's) names `round`: requests only lower the merge
    // round, so concurrent ones settle on the lowest everywhere.
    void request_merge(const crypto::PeerId& from, std::uint64_t round) override;

  private:
    net::gossipsub::Validation validate(net::gossipsub::Delivery& d);
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
    void try_base(bool waited_enough);
    void fetch_base_from(std::vector<crypto::PeerId> holders, crypto::Digest hash,
                         std::uint64_t parameters);
    boost::asio::awaitable<void> fetch_base_task(std::vector<crypto::PeerId> holders,
                                                 crypto::Digest hash, std::uint64_t parameters);
    // Starts the engine with the fetched base policy, or with none: cached, or made here (then
    // `making_because` says why, for the log).
    void start_engine(SharedWeights fetched, std::string_view making_because = {});

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

    enum class BasePhase { waiting, fetching, started };
    BasePhase m_base_phase = BasePhase::waiting;
    SharedWeights m_base;  // served to late joiners once the engine has it
    std::optional<crypto::Digest> m_base_hash;
    std::size_t m_base_holders = 0;  // peers the base policy was fetched from

    std::set<std::pair<crypto::PeerId, std::uint64_t>> m_seen;  // (author, round) accepted
    PacingFloor m_pacing;                                       // connected peers' progress

    struct PeerBeat {
        std::string policy;
        std::optional<WeightsCommitment> commitment;
        std::vector<crypto::PeerId> merged_from;
        std::optional<crypto::Digest> base_hash;
        std::uint64_t base_parameters = 0;
        Clock::time_point at;
        std::uint64_t round = 0;
        double reward = -1.0;
    };
    std::map<crypto::PeerId, PeerBeat> m_beats;

    boost::asio::steady_timer m_alone_timer;
    boost::asio::steady_timer m_merge_timer;
    boost::asio::steady_timer m_base_timer;

    Counter& m_batches_in;
    Counter& m_batches_out;
    Counter& m_batches_rejected;
    Counter& m_batches_ignored;
};

}  // namespace swarmd::node
