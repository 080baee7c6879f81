#pragma once
// The daemon's zeroth-order trainer. It owns the model replica, the durable update log and the
// task, and runs on its own compute thread: LibTorch never runs on the io thread. The io thread
// hands it received updates; it hands back the updates it made and its progress, by post().
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/core/compute_thread.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/admission.hpp"
#include "node/zo/sync.hpp"
#include "node/zo/update_trace.hpp"
#include "node/zo/wire.hpp"
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
    // Checkpoints fetched on joining, checked against the log that produced them once it is in
    // (ZoEngine::catch_up): matched, or refuted and replaced by the log's own replay.
    std::uint64_t joins_verified = 0;
    std::uint64_t joins_refuted = 0;
    bool join_unchecked = false;  // training on a fetched checkpoint whose prefix is not in yet
};

// What a late or restarted node fetched from its peers before training.
struct CatchUp {
    std::optional<training::Checkpoint> checkpoint;  // verified canonical state, when fetched
    std::vector<SyncBatch> batches;                  // log suffix, per peer, not yet verified
    std::uint64_t round = 0;                         // the swarm's round: train from here on
};

// What became of one peer's sync answer. Every record is checked in this order, and counted
// under the first check it fails:
struct SyncIntake {
    std::size_t accepted = 0;
    std::size_t invalid = 0;    // index >= directions, round 0 or a ticket short of the spec's
                                // work: no honest node sends it
    std::size_t late = 0;       // beyond the merge round (it may have been lowered meanwhile)
    std::size_t known = 0;      // (author, round, index) already in the log: not re-verified
    std::size_t over_cap = 0;   // an author outside the ones taken from sync (max_sync_authors)
    std::size_t forged = 0;     // the signature does not verify: the rest of the answer is dropped
    std::size_t unchecked = 0;  // dropped unverified after a forgery
    bool refused() const noexcept { return invalid > 0 || forged > 0; }
};

struct ZoEngineOptions {
    static constexpr std::chrono::milliseconds kDefaultRoundInterval{200};
    static constexpr std::chrono::milliseconds kDefaultMergeGrace{4000};
    static constexpr std::uint64_t kDefaultEvalEvery = 10;
    static constexpr std::chrono::milliseconds kPacingRecheck{10};
    static constexpr std::uint64_t kDefaultCheckpointEvery = 20;
    static constexpr std::size_t kKeptCheckpoints = 3;

    std::filesystem::path dir;                                         // <data dir>/zo
    std::chrono::milliseconds round_interval = kDefaultRoundInterval;  // minimum time per round
    std::chrono::milliseconds merge_grace = kDefaultMergeGrace;        // wait for late updates
    // After the grace, how much longer the merge waits for its syncs with every known peer
    // (merge_reconciled()) before it merges without the ones still running: a slow link to a
    // peer holding updates nobody else has would otherwise leave them out of some nodes'
    // first merge (they merge again when the updates arrive, but "merged" should be final).
    static constexpr std::chrono::milliseconds kDefaultMergeSyncWait{60'000};
    std::chrono::milliseconds merge_sync_wait = kDefaultMergeSyncWait;
    std::uint64_t eval_every = kDefaultEvalEvery;
    // Canonical checkpoints are made at multiples of this round, once the node is far enough
    // past them (twice the staleness window) that gossip no longer adds updates to them.
    std::uint64_t checkpoint_every = kDefaultCheckpointEvery;
    // Authors taken from sync answers (merge reconciliation, late join), and authors the merge
    // replays: those first in ticket order (training/author_ticket.hpp: lowest ticket hash,
    // then peer id) among the authors a node knows, so that nodes holding the same union of
    // updates take the same ones, and a place costs work.
    std::size_t max_sync_authors = AdmissionOptions::kDefaultMaxAuthors;
    UpdateTrace* trace = nullptr;  // when set, records every update applied to the replica
};

class ZoEngine {
  public:
    using PublishHandler = std::function<void(std::vector<training::Update>)>;
    using ProgressHandler = std::function<void(const ZoProgress&)>;
    using MergeHandler = std::function<void(std::uint64_t merge_round)>;
    using ReconcileHandler = std::function<void(std::uint64_t after, std::uint64_t through)>;
    using UpdatesHandler = std::function<void(std::vector<training::SignedUpdate>)>;
    using SyncReportHandler = std::function<void(const crypto::PeerId& peer, const SyncIntake&)>;

    // Loads the data set, opens the log and rebuilds the replica from it. `key` is the node's
    // identity: its own updates are logged signed with it. Throws on start-up failure (missing
    // data set, unwritable log, a log of an older format).
    ZoEngine(const Spec& spec, const SwarmId& swarm_id, crypto::PrivateKey key,
             ZoEngineOptions options, boost::asio::io_context& io, PublishHandler publish,
             ProgressHandler progress);
    ~ZoEngine();

    // Starts training (the compute thread already answers sync requests and takes updates).
    void start();
    // Finishes the current step and joins the compute thread.
    void stop();

    // From the io thread: an update that passed the topic validator (gossipsub verified its
    // signature, which comes with it).
    void receive(training::SignedUpdate update);
    // From the io thread: a peer's sync answer. Each record is bounds-checked, capped and its
    // signature verified on the compute thread before it is used; the outcome goes to the
    // sync report handler on the io thread.
    void receive_synced(SyncBatch batch);
    void on_sync_report(SyncReportHandler handler) { m_on_sync_report = std::move(handler); }
    // Called on the io thread after a fetched checkpoint through `through` became the base while
    // the log lacks the updates it covers: the daemon fetches them, and the engine checks the
    // checkpoint against them.
    void on_prefix_wanted(std::function<void(std::uint64_t through)> handler) {
        m_on_prefix_wanted = std::move(handler);
    }
    // The round the node works on; the validator's window is relative to it.
    std::uint64_t current_round() const noexcept { return m_round.load(); }
    // The slowest recently active peer's round, from the io thread. A node keeps within the
    // staleness window of it, so that fast nodes do not outrun what slow ones accept.
    void set_swarm_floor(std::uint64_t round) noexcept { m_floor = round; }
    // A node trains round r only while r <= floor + pacing_lead: more than half the staleness
    // window ahead of the floor, it waits.
    static std::uint64_t pacing_lead(std::uint64_t staleness) noexcept {
        return std::max<std::uint64_t>(1, staleness / 2);
    }
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
    // From the io thread: the syncs the merge at `merge_round` started are over (after the
    // updates they fetched were handed to receive_synced()).
    void merge_reconciled(std::uint64_t merge_round);
    // Called on the io thread when a canonical checkpoint through `through` is due: the daemon
    // fetches the peers' updates in (after, through], hands them to receive() and then calls
    // reconciled(through), so that nodes checkpoint the same update set and announce the same
    // hash. Without a handler, checkpoints are made from the local set alone.
    void on_checkpoint_due(ReconcileHandler handler) { m_on_checkpoint_due = std::move(handler); }
    // The updates fetched for rounds <= through have been handed to receive() (from the io thread).
    void reconciled(std::uint64_t through);
    // From the io thread, when `author` (re)connects: the rounds (after, through] in which it
    // may hold updates this node lacks, handed to `done` on the io thread; nothing when the log
    // holds none of its updates. A node that stopped or lost its link keeps the updates it made
    // just before (logged, never gossiped, or gossiped to nobody); its peers cut their
    // checkpoints without them meanwhile, and this is how the sets, and so the checkpoints,
    // converge again once it is back.
    void resync_span(const crypto::PeerId& author,
                     std::function<void(std::uint64_t after, std::uint64_t through)> done);
    // Merge at `round` instead of the spec's merge round (a swarm merge request). Only lowers
    // the merge round; a node already past it stops training and merges at it.
    void request_merge(std::uint64_t round);

    std::size_t parameter_count() const noexcept { return m_theta.size(); }

  private:
    void step();
    void schedule_step(std::chrono::milliseconds delay);
    // Appends a new update to the log and applies it; false for a duplicate or a failed append.
    bool accept(const training::SignedUpdate& u);
    // Verifies and takes what one peer's sync answer adds (compute thread), and reports it.
    SyncIntake take_synced(const SyncBatch& batch);
    // The authors the log holds, when they are more than max_sync_authors: the ones the merge
    // replays (the first max_sync_authors in ticket order). Empty: every author.
    std::set<Bytes> merge_authors() const;
    crypto::Digest ticket_of(const training::Update& u) const;
    // Records u's ticket in m_author_rank (the author's best ticket in the log).
    void rank_author(const training::Update& u);
    training::Checkpoint genesis() const;
    std::vector<std::pair<std::uint64_t, crypto::Digest>> held_checkpoints() const;
    std::uint64_t log_count_through(std::uint64_t round) const;
    bool adopt_base(training::Checkpoint ckpt);
    // `from` with the log's updates of rounds (from.through_round, through] replayed one
    // checkpoint_every-round chunk at a time: how every canonical checkpoint is made.
    training::Checkpoint replay_chunks(const training::Checkpoint& from,
                                       std::uint64_t through) const;
    // Once the log holds as many updates through the base's round as the fetched base claims,
    // replays them from genesis and compares: a match makes the base trusted (saved, announced);
    // a mismatch replaces it by the replay.
    void check_base();
    void load_base();
    std::uint64_t checkpoint_lag() const;
    void maybe_checkpoint(std::uint64_t round);
    void recut_checkpoints();
    void evaluate_and_report();
    void begin_merge();
    void finish_merge();
    void report();

    const Spec m_spec;
    const Bytes m_swarm_id;
    const std::string m_topic;  // the zo topic, which update signatures cover
    const crypto::PrivateKey m_key;
    const Bytes m_author;
    ZoEngineOptions m_options;
    boost::asio::io_context& m_io;
    PublishHandler m_publish;
    ProgressHandler m_on_progress;
    MergeHandler m_on_merge;
    ReconcileHandler m_on_checkpoint_due;
    std::uint64_t m_reconcile_asked =
        0;                           // the last checkpoint round the daemon was asked to reconcile
    std::uint64_t m_reconciled = 0;  // rounds <= this hold the peers' updates too
    SyncReportHandler m_on_sync_report;

    std::unique_ptr<training::Task> m_task;
    training::ZoOptions m_zo;
    training::ApplyRule m_rule;
    std::vector<float> m_init;
    std::vector<float> m_theta;
    std::optional<training::UpdateLog> m_log;
    unsigned m_work_bits = 0;                       // the spec's author_work_bits
    std::uint64_t m_ticket = 0;                     // this node's ticket, found by the constructor
    std::map<Bytes, crypto::Digest> m_author_rank;  // per author in the log: its best ticket hash
    // The canonical state the replica builds on: genesis, or a checkpoint (fetched on a late
    // join, or made before a restart). m_prefix counts log updates with round <= its round;
    // while it is below the checkpoint's update count the log is still filling that prefix.
    training::Checkpoint m_base;
    std::uint64_t m_prefix = 0;
    bool m_base_checked = true;  // false while a fetched base awaits its prefix (check_base)
    std::function<void(std::uint64_t)> m_on_prefix_wanted;
    std::deque<training::Checkpoint> m_canon;  // recent canonical checkpoints, oldest first
    ZoProgress m_progress;
    std::atomic<std::uint64_t> m_round{0};
    std::atomic<std::uint64_t> m_floor{0};  // 0: no peer heard from
    std::uint64_t m_merge_round = 0;
    bool m_merging = false;
    bool m_merge_synced = false;  // the current merge's syncs are over
    bool m_grace_over = false;    // the current merge's grace has passed

    ComputeThread m_worker;
    boost::asio::io_context& m_compute = m_worker.context();
    boost::asio::steady_timer m_timer;
    bool m_stopping = false;
};

}  // namespace swarmd::node
