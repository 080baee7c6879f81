#pragma once
// The daemon's ZO mode, on the io thread: the updates topic (validator, bounded admission and
// delivery), the ZO engine on its compute thread, joining late (heartbeats, a checkpoint several
// trainers agree on, the log after it), pacing against the slowest connected author, the sync
// protocol (/swarmd/zo-sync, node/zo/sync.hpp) both ways with anti-entropy before checkpoints and
// the merge, and the ZO fields of heartbeats, /api/status and /metrics. The daemon owns the host,
// gossip, joiner and HTTP and calls in here (node/core/mode.hpp).
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/gossipsub.hpp"
#include "node/core/mode.hpp"
#include "node/ops/metrics.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/admission.hpp"
#include "node/zo/engine.hpp"
#include "node/zo/join.hpp"
#include "node/zo/update_trace.hpp"

namespace swarmd::net {
class Host;
class Pubsub;
}  // namespace swarmd::net

namespace swarmd::node {

struct ZoNodeOptions {
    static constexpr std::chrono::seconds kDefaultTrainAloneAfter{30};

    bool relay_only = false;    // a bootstrap node validates and relays; it trains nothing
    std::filesystem::path dir;  // <data dir>/zo
    std::chrono::milliseconds round_interval = ZoEngineOptions::kDefaultRoundInterval;
    std::chrono::milliseconds merge_grace = ZoEngineOptions::kDefaultMergeGrace;
    // How often heartbeats come: a trainer's heartbeat counts for joining while it is at most
    // three intervals old.
    std::chrono::milliseconds status_interval{2000};
    std::chrono::milliseconds train_alone_after = kDefaultTrainAloneAfter;
    std::string trace_updates;  // append update publish/apply events here (bench/testnet)
};

class ZoNode final : public ModeNode {
  public:
    using Clock = std::chrono::steady_clock;
    // The trainers this node knows (the joiner's list): reconciles ask each of them.
    using KnownPeers = std::function<std::vector<crypto::PeerId>()>;

    ZoNode(boost::asio::io_context& io, net::Host& host, net::Pubsub& pubsub, const Spec& spec,
           const SwarmId& swarm_id, const crypto::PrivateKey& identity, Metrics& metrics,
           ZoNodeOptions options, KnownPeers known_peers);
    ~ZoNode() override;

    void start() override;
    void peer_identified(const crypto::PeerId& peer) override;
    void stop() override;
    void on_status(const crypto::PeerId& author, const Heartbeat& beat) override;
    void forget(const crypto::PeerId& author) override;
    void heartbeat(Heartbeat& beat) const override;
    void status(nlohmann::json& status) const override;
    void update_metrics() override;
    std::string topic() const override;
    bool trains() const override { return m_engine != nullptr; }
    std::uint64_t current_round() const override;
    std::uint64_t merge_round() const override;
    std::uint64_t staleness() const override {
        return static_cast<std::uint64_t>(m_spec.zo.staleness);
    }
    void request_merge(const crypto::PeerId& from, std::uint64_t round) override;

  private:
    // Refreshes the engine's pacing floor: on each update, and each heartbeat interval (so that
    // authors who went quiet stop holding it).
    void update_floor();
    void schedule_floor();
    net::gossipsub::Validation validate(net::gossipsub::Delivery& d);
    void deliver(const net::gossipsub::Delivery& d);
    void publish(const std::vector<training::Update>& updates);
    void start_engine();
    void start_join();
    std::vector<PeerBeat> join_beats() const;
    std::vector<PeerBeat> recent_trainer_beats() const;
    // The authors that hold this node's pace: directly connected ones (node.cpp, pacing_floor).
    bool paces_with(const crypto::PeerId& peer) const;
    std::uint64_t pacing_floor(Clock::time_point now) const;
    void reconcile(std::uint64_t merge_round);
    void reconcile_with(const crypto::PeerId& peer, std::uint64_t through, std::uint64_t after = 0,
                        std::function<void()> done = {});
    void reconcile_checkpoint(std::uint64_t after, std::uint64_t through);
    void on_sync_report(const crypto::PeerId& peer, const SyncIntake& in);
    void on_progress(const ZoProgress& p);
    Bytes swarm_id_bytes() const;

    boost::asio::io_context& m_io;
    net::Host& m_host;
    net::Pubsub& m_pubsub;
    const Spec m_spec;
    const SwarmId m_swarm_id;
    const crypto::PeerId m_self;
    Metrics& m_metrics;
    ZoNodeOptions m_options;
    KnownPeers m_known_peers;

    std::unique_ptr<UpdateTrace> m_trace;  // outlives the engine that records into it
    std::unique_ptr<ZoEngine> m_engine;    // none on a relay
    ZoProgress m_progress;
    // Bounded acceptance of updates; also each author's latest round, for pacing.
    UpdateAdmission m_admission;

    struct TrainerBeat {
        PeerBeat beat;
        Clock::time_point heard;
    };
    std::map<crypto::PeerId, TrainerBeat> m_beats;  // bounded by the daemon's heartbeat table

    bool m_stopping = false;
    bool m_training_started = false;  // the join (or training alone) has begun
    bool m_engine_started = false;    // the engine trains; its round is the validator's view
    std::optional<std::uint64_t> m_merge_round_started;
    // The round through which the log behind a checkpoint taken on joining is wanted, to check
    // that checkpoint; asked again of each peer that (re)connects until the check is done.
    std::optional<std::uint64_t> m_prefix_through;
    std::set<crypto::PeerId> m_sync_running;                // peers whose sync answer is being read
    std::map<crypto::PeerId, std::size_t> m_sync_requests;  // running or waiting, per peer
    // Refused sync answers per peer (forged or invalid records); each lowers its gossip score.
    std::map<crypto::PeerId, std::uint32_t> m_sync_strikes;
    boost::asio::steady_timer m_alone_timer;
    boost::asio::steady_timer m_floor_timer;

    Counter& m_updates_in;
    Counter& m_updates_out;
    Gauge& m_round_gauge;
};

}  // namespace swarmd::node
