#pragma once
// The daemon's zeroth-order trainer. It owns the model replica, the durable update log and the
// task, and runs on its own compute thread: LibTorch never runs on the io thread. The io thread
// hands it received updates; it hands back the updates it made and its progress, by post().
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "crypto/hash.hpp"
#include "node/spec.hpp"
#include "node/sync.hpp"
#include "node/update_trace.hpp"
#include "training/checkpoint.hpp"
#include "training/update_log.hpp"
#include "training/zo.hpp"

namespace swarmd::training {
class Task;
}

namespace swarmd::node {

// What the io thread shows about training.
struct ZoProgress {
    std::uint64_t round = 0;         // rounds this node has completed
    std::uint64_t updates = 0;       // updates in the log (own and received)
    double loss = 0.0;               // last training loss (mean of L+ and L-)
    double eval_loss = 0.0;          // held-out loss at the last evaluation
    double accuracy = std::nan("");  // held-out accuracy (classifiers)
    double perplexity = std::nan("");
    std::string merge_state = "training";  // training, waiting, merged
    std::optional<crypto::Digest> merged_hash;
    std::size_t merged_updates = 0;
    std::size_t participants = 0;
    std::uint64_t merge_round = 0;  // the spec's, or a lower one a merge request named
    // Canonical checkpoints held (through round, model hash), oldest first: heartbeats announce
    // them so that late joiners can verify what they fetch against several peers.
    std::vector<std::pair<std::uint64_t, crypto::Digest>> checkpoints;
};

// What a late or restarted node fetched from its peers before training.
struct CatchUp {
    std::optional<training::Checkpoint> checkpoint;  // verified canonical state, when fetched
    std::vector<training::Update> updates;           // log suffix
    std::uint64_t round = 0;                         // the swarm's round: train from here on
};

struct ZoEngineOptions {
    static constexpr std::chrono::milliseconds kDefaultRoundInterval{200};
    static constexpr std::chrono::milliseconds kDefaultMergeGrace{4000};
    static constexpr std::uint64_t kDefaultEvalEvery = 10;
    static constexpr std::chrono::milliseconds kPacingRecheck{10};
    static constexpr std::uint64_t kDefaultCheckpointEvery = 20;
    static constexpr std::size_t kKeptCheckpoints = 3;

    std::filesystem::path dir;  // <data dir>/zo
    std::chrono::milliseconds round_interval = kDefaultRoundInterval;  // minimum time per round
    std::chrono::milliseconds merge_grace = kDefaultMergeGrace;  // wait for late updates
    std::uint64_t eval_every = kDefaultEvalEvery;
    // Canonical checkpoints are made at multiples of this round, once the node is far enough
    // past them (twice the staleness window) that gossip no longer adds updates to them.
    std::uint64_t checkpoint_every = kDefaultCheckpointEvery;
    UpdateTrace* trace = nullptr;  // when set, records every update applied to the replica
};

class ZoEngine {
public:
    using PublishHandler = std::function<void(std::vector<training::Update>)>;
    using ProgressHandler = std::function<void(const ZoProgress&)>;
    using UpdatesHandler = std::function<void(std::vector<training::Update>)>;
    using MergeHandler = std::function<void(std::uint64_t merge_round)>;

    // Loads the data set, opens the log and rebuilds the replica from it. Throws on start-up
    // failure (missing data set, unwritable log).
    ZoEngine(const Spec& spec, const SwarmId& swarm_id, Bytes author, ZoEngineOptions options,
             boost::asio::io_context& io, PublishHandler publish, ProgressHandler progress);
    ~ZoEngine();

    void start();
    // Finishes the current step and joins the compute thread.
    void stop();

    // From the io thread: an update that passed the topic validator.
    void receive(training::Update update);
    // The round the node works on; the validator's window is relative to it.
    std::uint64_t current_round() const noexcept { return m_round.load(); }
    // The slowest recently active peer's round, from the io thread. A node keeps within the
    // staleness window of it, so that fast nodes do not outrun what slow ones accept.
    void set_swarm_floor(std::uint64_t round) noexcept { m_floor = round; }
    // The updates of the log with after < round <= through, handed to `done` on the io thread
    // (for /swarmd/sync/1.0.0 answers).
    void updates(std::uint64_t after, std::uint64_t through, UpdatesHandler done);
    // Values [offset, offset + count) of the canonical checkpoint through `round`, if held.
    void checkpoint_slice(std::uint64_t round, std::uint64_t offset, std::uint64_t count,
                          SyncSource::SliceDone done);
    // Before start(): take what a late or restarted node fetched, and train from its round.
    void catch_up(CatchUp state);
    // Called on the io thread each time a merge starts, so the daemon can fetch what peers hold.
    void on_merge_started(MergeHandler handler) { m_on_merge = std::move(handler); }
    // Merge at `round` instead of the spec's merge round (a swarm merge request). Only lowers
    // the merge round; a node already past it stops training and merges at it.
    void request_merge(std::uint64_t round);

    std::size_t parameter_count() const noexcept { return m_theta.size(); }

private:
    void step();
    void schedule_step(std::chrono::milliseconds delay);
    // Appends a new update to the log and applies it; false for a duplicate or a failed append.
    bool accept(const training::Update& u);
    training::Checkpoint genesis() const;
    std::vector<std::pair<std::uint64_t, crypto::Digest>> held_checkpoints() const;
    std::uint64_t log_count_through(std::uint64_t round) const;
    bool adopt_base(training::Checkpoint ckpt);
    void load_base();
    void maybe_checkpoint(std::uint64_t round);
    void evaluate_and_report();
    void begin_merge();
    void finish_merge();
    void report();

    const Spec m_spec;
    const Bytes m_swarm_id;
    const Bytes m_author;
    ZoEngineOptions m_options;
    boost::asio::io_context& m_io;
    PublishHandler m_publish;
    ProgressHandler m_on_progress;
    MergeHandler m_on_merge;

    std::unique_ptr<training::Task> m_task;
    training::ZoOptions m_zo;
    training::ApplyRule m_rule;
    std::vector<float> m_init;
    std::vector<float> m_theta;
    std::optional<training::UpdateLog> m_log;
    // The canonical state the replica builds on: genesis, or a checkpoint (fetched on a late
    // join, or made before a restart). m_prefix counts log updates with round <= its round;
    // while it is below the checkpoint's update count the log is still filling that prefix.
    training::Checkpoint m_base;
    std::uint64_t m_prefix = 0;
    std::deque<training::Checkpoint> m_canon;  // recent canonical checkpoints, oldest first
    ZoProgress m_progress;
    std::atomic<std::uint64_t> m_round{0};
    std::atomic<std::uint64_t> m_floor{0};  // 0: no peer heard from
    std::uint64_t m_merge_round = 0;
    bool m_merging = false;

    boost::asio::io_context m_compute;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_work;
    boost::asio::steady_timer m_timer;
    std::thread m_thread;
    bool m_stopping = false;
};

// The zo topic's message: u8 version | u64be round | u32be index | i8 q. The author is the
// gossip message's signed `from`, so it is not repeated.
inline constexpr std::size_t kZoMessageSize = 14;
Bytes encode_zo_message(const training::Update& u);
// Fails on a wrong size or version; `author` is the message's verified author.
std::optional<training::Update> decode_zo_message(ByteSpan data, Bytes author);

}  // namespace swarmd::node
