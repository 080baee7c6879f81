#pragma once
// The daemon's SAPO trainer. It owns the node's policy (one architecture of the spec's
// [[sapo.policies]]) and its rollout pool, and runs on its own compute thread: LibTorch never runs
// on the io thread. Per round it generates G completions for each of I local questions, hands the
// encoded batch back for publishing, takes J external groups from the pool and does one GRPO
// step. At the merge round it freezes its weights and hands them back for the final merge, and it
// averages what the merge brings together. Values cross threads by post().
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "node/core/compute_thread.hpp"
#include "node/sapo/merge.hpp"
#include "node/sapo/merge_protocol.hpp"
#include "node/spec/spec.hpp"
#include "rl/sampler.hpp"

namespace swarmd::rl {
class SwarmNode;
}

namespace swarmd::node {

// What the io thread shows about SAPO training.
struct SapoProgress {
    std::string phase = "warmup";  // warmup, ready (waiting for a peer), training, committed
    std::uint64_t round = 0;       // rounds completed
    double reward = -1.0;          // mean reward of the last round's local rollouts
    double recent_reward = -1.0;   // mean over the last kRecentRounds rounds
    double cumulative_reward = 0.0;
    double loss = 0.0;
    std::uint64_t rollouts = 0;        // local rollouts generated
    std::uint64_t external_used = 0;   // external groups trained on, in total
    std::uint64_t external_last = 0;   // in the last round
    std::uint64_t groups_trained = 0;  // groups with signal (nonzero advantages)
    rl::PoolStats pool;
    std::string base_hash;    // hex weights_hash of the base policy
    std::string base_source;  // cached, built (supervised warm-up) or fetched (from peers)
    SharedWeights base;       // the base policy's weights, served to late joiners
    std::uint64_t parameters = 0;
    std::uint64_t merge_round = 0;  // the spec's, or lower when a merge was requested
    std::uint64_t start_round = 0;  // the first round this run trained (late joiners skip ahead)
};

// The merged model the engine wrote.
struct SapoMergeOutcome {
    crypto::Digest hash{};
    std::vector<crypto::PeerId> participants;
    std::vector<crypto::PeerId> outliers;  // participants whose weights the merge rule left out
    double accuracy = -1.0;  // greedy accuracy of the merged policy on the spec's task mix
};

struct SapoEngineOptions {
    static constexpr std::chrono::milliseconds kDefaultRoundInterval{200};
    static constexpr std::uint64_t kDefaultCheckpointEvery = 10;
    static constexpr std::chrono::milliseconds kPacingRecheck{20};
    static constexpr int kEvalPerEntry = 16;

    std::filesystem::path dir;                                         // <data dir>/sapo
    std::chrono::milliseconds round_interval = kDefaultRoundInterval;  // minimum time per round
    std::uint64_t checkpoint_every = kDefaultCheckpointEvery;
};

// The policy a node runs: `name` from the spec, or the spec's first when empty. Throws a
// start-up error naming the choices when the name is not in the spec.
const PolicySpec& choose_policy(const Spec& spec, const std::string& name);

class SapoEngine {
  public:
    using PublishHandler = std::function<void(std::uint64_t round, Bytes batch)>;
    using ProgressHandler = std::function<void(const SapoProgress&)>;
    using CommitHandler = std::function<void(SharedWeights weights)>;
    using MergedHandler = std::function<void(SapoMergeOutcome)>;

    // `author` is the node's base58 peer id (the rollout batches' author field).
    SapoEngine(const Spec& spec, const PolicySpec& policy, std::string author,
               SapoEngineOptions options, boost::asio::io_context& io, PublishHandler publish,
               ProgressHandler progress, CommitHandler commit);
    ~SapoEngine();

    // Starts the compute thread: the base policy is `fetched` (verified weights from peers),
    // loaded from the data dir, or made by the supervised warm-up, and cached; then a saved
    // policy is resumed. Rounds wait for begin().
    void start(SharedWeights fetched = nullptr);
    // Whether the data dir holds this architecture's base policy (no fetch or warm-up needed).
    bool has_cached_base() const;
    // Rounds start (the node joined the swarm, or waited long enough alone).
    void begin();
    // Finishes the current step (or interrupts the warm-up), saves the policy and joins the
    // compute thread.
    void stop();
    // Lowers the merge round (a merge request); a higher one, or one after our commitment, is
    // ignored. A node already past the round commits at its next step.
    void request_merge(std::uint64_t round);
    std::uint64_t merge_round() const noexcept { return m_merge_round.load(); }

    // From the io thread: a batch that passed the topic validator.
    void receive(rl::CheckedBatch batch);
    std::uint64_t current_round() const noexcept { return m_round.load(); }
    // The slowest recently active peer's round (none: no peer heard from), for self-pacing. A
    // peer still making its base policy counts as round 0, so rounds wait for it. A node whose
    // first round is behind the floor (it joined late) starts at the floor instead.
    void set_swarm_floor(std::optional<std::uint64_t> round) noexcept {
        m_floor = round ? static_cast<std::int64_t>(*round) : -1;
    }
    // Averages the inputs (canonical order), writes final/model.pt and final/manifest.json and
    // hands the outcome to `done` on the io thread.
    void merge(std::vector<MergeInput> inputs, MergedHandler done);

    const PolicySpec& policy_spec() const noexcept { return m_policy_spec; }
    std::uint64_t parameter_count() const noexcept { return m_parameters.load(); }
    // The parameter count of this node's policy shape, known before any base policy exists (a
    // fetched base policy must have exactly this many). Computed once, on the calling thread.
    std::uint64_t shape_parameters() const;

  private:
    void prepare(SharedWeights fetched);
    std::filesystem::path base_path() const;
    void step();
    void schedule_step(std::chrono::milliseconds delay);
    void commit();
    void save_state();
    void report();

    const Spec m_spec;
    const PolicySpec m_policy_spec;
    const std::string m_author;
    SapoEngineOptions m_options;
    boost::asio::io_context& m_io;
    PublishHandler m_publish;
    ProgressHandler m_on_progress;
    CommitHandler m_on_commit;

    std::unique_ptr<rl::SwarmNode> m_node;
    SapoProgress m_progress;
    std::vector<double> m_recent;
    std::atomic<std::uint64_t> m_round{1};
    std::atomic<std::int64_t> m_floor{-1};
    std::atomic<std::uint64_t> m_parameters{0};
    mutable std::uint64_t m_shape_parameters = 0;
    std::atomic<std::uint64_t> m_merge_round;
    std::atomic<bool> m_abort{false};  // set by stop() from the io thread, read by the warm-up
    bool m_begun = false;
    bool m_ready = false;
    bool m_committed = false;
    bool m_stepped = false;

    ComputeThread m_worker;
    boost::asio::io_context& m_compute = m_worker.context();
    boost::asio::steady_timer m_timer;
    bool m_stopping = false;
};

}  // namespace swarmd::node
