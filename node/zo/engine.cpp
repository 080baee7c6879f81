#include "node/zo/engine.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <random>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/endian.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "crypto/peer_id.hpp"
#include "net/gossipsub_message.hpp"
#include "training/author_ticket.hpp"
#include "training/checkpoint.hpp"
#include "training/data.hpp"
#include "training/error.hpp"
#include "training/models.hpp"
#include "training/params.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.ckpt";
constexpr std::size_t kMaxTextBytes = 1 << 20;

std::unique_ptr<training::Task> make_task(const Spec& spec) {
    const auto& zo = spec.zo;
    if (zo.model == ZoModelKind::mlp) {
        if (zo.data != DataSet::digits) throw std::runtime_error("the mlp model trains on digits");
        auto data = training::load_digits();
        if (!data)
            throw std::runtime_error("cannot load the digits data set: " + data.error().message());
        training::MlpOptions options;
        options.hidden.assign(zo.hidden.begin(), zo.hidden.end());
        options.test_every =
            std::max<std::size_t>(2, static_cast<std::size_t>(1.0 / zo.test_fraction + 0.5));
        return training::make_digits_mlp(data.value(), options);
    }
    std::ifstream in(zo.text_path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + zo.text_path);
    std::string text(kMaxTextBytes, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    training::CharLmOptions options;
    options.context = static_cast<std::size_t>(zo.context);
    options.embed = static_cast<std::size_t>(zo.embed);
    options.hidden = static_cast<std::size_t>(zo.hidden.at(0));
    options.test_fraction = zo.test_fraction;
    return training::make_char_lm(text, options);
}

std::vector<std::uint32_t> sample_batch(ByteSpan author, std::uint64_t round, std::size_t size,
                                        std::size_t train_size) {
    crypto::Sha256 h;
    h.update(as_bytes("swarmd/batch/v1")).update(author);
    std::array<std::uint8_t, 8> r;
    store_be(r.data(), round);
    h.update(r);
    const auto digest = h.finish();
    std::seed_seq seq(digest.begin(), digest.end());
    std::mt19937_64 rng(seq);
    std::uniform_int_distribution<std::uint32_t> pick(0,
                                                      static_cast<std::uint32_t>(train_size - 1));
    std::vector<std::uint32_t> batch(size);
    for (auto& b : batch) b = pick(rng);
    return batch;
}

std::string author_name(const Bytes& author) {
    auto id = crypto::PeerId::from_bytes(author);
    return id ? id.value().to_base58() : hex_encode(author);
}

}  // namespace

ZoEngine::ZoEngine(const Spec& spec, const SwarmId& swarm_id, crypto::PrivateKey key,
                   ZoEngineOptions options, asio::io_context& io, PublishHandler publish,
                   ProgressHandler progress)
    : m_spec(spec),
      m_swarm_id(swarm_id.bytes().begin(), swarm_id.bytes().end()),
      m_topic(zo_topic(swarm_id)),
      m_key(std::move(key)),
      m_author(crypto::PeerId::from_public_key(m_key.public_key()).bytes()),
      m_options(std::move(options)),
      m_io(io),
      m_publish(std::move(publish)),
      m_on_progress(std::move(progress)),
      m_timer(m_compute) {
    training::set_compute_threads(1);
    m_task = make_task(spec);
    m_zo.eps = static_cast<float>(spec.zo.epsilon);
    m_zo.lr = static_cast<float>(spec.zo.lr);
    m_zo.scale = static_cast<float>(spec.zo.scale);
    m_zo.directions = static_cast<std::uint32_t>(spec.zo.directions);
    m_zo.batch = static_cast<std::uint32_t>(spec.zo.batch);
    m_zo.dist = spec.zo.perturbation == Perturbation::gaussian ? training::ZDist::gaussian
                                                               : training::ZDist::rademacher;
    m_rule = {m_swarm_id, m_zo.dist, m_zo.lr, m_zo.scale};
    m_merge_round = static_cast<std::uint64_t>(spec.merge_round);
    m_work_bits = static_cast<unsigned>(spec.zo.author_work_bits);
    // The ticket is found once per start, before the node meets the swarm, so that nodes
    // started together still start training together (deterministic: the same every time).
    const auto began = std::chrono::steady_clock::now();
    m_ticket = training::grind_ticket(m_swarm_id, m_author, m_work_bits);
    category_log("train")->info("author ticket: {} bits of work in {} ms", m_work_bits,
                                std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - began)
                                    .count());

    m_init =
        training::init_params(m_task->layout(), m_swarm_id, static_cast<std::uint64_t>(spec.seed));
    std::filesystem::create_directories(m_options.dir);
    training::LogOptions log_options;
    log_options.future_window = static_cast<std::uint64_t>(spec.zo.staleness);
    auto log = training::UpdateLog::open(m_options.dir / "updates.log", log_options);
    if (!log && log.error() == training::Errc::unsupported_log) {
        throw std::runtime_error(
            (m_options.dir / "updates.log").string() +
            " was written by an older swarmd, without update signatures or author tickets: move "
            "it away and start again to rejoin from the swarm");
    }
    if (!log) throw std::runtime_error("cannot open the update log: " + log.error().message());
    m_log.emplace(std::move(log.value()));
    if (m_log->dropped_tail_bytes() > 0) {
        category_log("train")->warn("update log: dropped a torn tail of {} bytes",
                                    m_log->dropped_tail_bytes());
    }
    for (const auto& u : m_log->updates()) rank_author(u);

    // The replica resumes from its base (genesis, or the checkpoint saved before a restart) and
    // the canonical replay of the log after it.
    m_base = genesis();
    load_base();
    m_theta = m_base.params;
    std::vector<training::Update> suffix;
    for (const auto& u : m_log->updates()) {
        if (u.round > m_base.through_round) suffix.push_back(u);
    }
    training::replay(m_theta, std::move(suffix), m_rule);
    if (m_base.through_round > 0) m_canon.push_back(m_base);
    std::uint64_t own = 0;
    for (const auto& u : m_log->updates()) {
        if (u.author == m_author) own = std::max(own, u.round);
    }
    m_round = own + 1;
    m_progress.round = own;
    m_progress.updates = m_log->updates().size();
    m_progress.merge_round = m_merge_round;
    m_progress.checkpoints = held_checkpoints();
    if (!m_log->updates().empty()) {
        category_log("train")->info(
            "resumed from the update log: {} updates, at round {}{}", m_log->updates().size(), own,
            m_base.through_round > 0
                ? fmt::format(" (checkpoint through round {})", m_base.through_round)
                : std::string());
    }
    // The compute thread runs from here on, before training starts: a node still joining
    // answers its peers' sync requests (they would otherwise wait out their timeout) and takes
    // in gossip.
    m_worker.start();
}

training::Checkpoint ZoEngine::genesis() const {
    return {0, 0, training::model_hash(m_init), m_init};
}

std::vector<std::pair<std::uint64_t, crypto::Digest>> ZoEngine::held_checkpoints() const {
    std::vector<std::pair<std::uint64_t, crypto::Digest>> out;
    // What rests on a fetched checkpoint not yet checked is not vouched for: a node announces
    // only checkpoints it could re-derive, so joiners cannot relay a forged one as a vote.
    if (!m_base_checked) return out;
    for (const auto& c : m_canon) out.emplace_back(c.through_round, c.model_hash);
    return out;
}

std::uint64_t ZoEngine::log_count_through(std::uint64_t round) const {
    return static_cast<std::uint64_t>(
        std::count_if(m_log->updates().begin(), m_log->updates().end(),
                      [round](const auto& u) { return u.round <= round; }));
}

bool ZoEngine::adopt_base(training::Checkpoint ckpt) {
    // A checkpoint is a base only while the log holds no more of its prefix than it covers; a
    // log that knows more (late updates) replays from genesis instead.
    const auto prefix = log_count_through(ckpt.through_round);
    if (prefix > ckpt.update_count) return false;
    m_base = std::move(ckpt);
    m_prefix = prefix;
    return true;
}

void ZoEngine::load_base() {
    const auto path = m_options.dir / kCheckpointFile;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return;
    auto ckpt = training::load_checkpoint(path, m_init.size());
    if (!ckpt) {
        category_log("train")->warn("{}: {}; replaying the log from genesis", path.string(),
                                    ckpt.error().message());
        return;
    }
    if (!adopt_base(std::move(ckpt.value()))) {
        category_log("train")->info(
            "the update log holds updates the checkpoint lacks: replaying from genesis");
    }
}

ZoEngine::~ZoEngine() { stop(); }

void ZoEngine::start() {
    asio::post(m_compute, [this] {
        evaluate_and_report();
        step();
    });
}

void ZoEngine::stop() {
    m_worker.stop([this] {
        m_stopping = true;
        m_timer.cancel();
    });
}

void ZoEngine::receive(training::SignedUpdate update) {
    asio::post(m_compute, [this, u = std::move(update)] {
        if (m_stopping || u.update.round > m_merge_round) return;
        if (!accept(u)) return;
        if (m_merging && m_progress.merge_state == "merged") {
            // A late update changes the merged set: merge again once things settle.
            m_progress.merge_state = "waiting";
            begin_merge();
        }
    });
}

void ZoEngine::receive_synced(SyncBatch batch) {
    asio::post(m_compute, [this, batch = std::move(batch)] {
        if (m_stopping) return;
        const auto intake = take_synced(batch);
        if (intake.accepted > 0 && m_merging && m_progress.merge_state == "merged") {
            m_progress.merge_state = "waiting";
            begin_merge();
        }
    });
}

SyncIntake ZoEngine::take_synced(const SyncBatch& batch) {
    SyncIntake in;
    // The authors taken: the first max_sync_authors in ticket order among those this node
    // knows (its log's and this answer's, each at its best ticket). An author left out has that
    // many known authors before it, all in the swarm's union, so it is not among the union's
    // first either: nodes that reach the same union take the same authors, whatever order
    // answers arrive in. (An author that signs with several tickets can move up later; only
    // its own updates are at stake, and the next reconcile brings them in.)
    std::vector<crypto::Digest> tickets(batch.updates.size());
    std::vector<bool> ticket_ok(batch.updates.size());
    auto ranks = m_author_rank;
    for (std::size_t i = 0; i < batch.updates.size(); ++i) {
        const auto& u = batch.updates[i].update;
        tickets[i] = ticket_of(u);
        ticket_ok[i] = m_work_bits == 0 || training::leading_zero_bits(tickets[i]) >= m_work_bits;
        if (!ticket_ok[i]) continue;
        auto [it, fresh] = ranks.try_emplace(u.author, tickets[i]);
        if (!fresh && tickets[i] < it->second) it->second = tickets[i];
    }
    std::optional<training::AuthorRank> last_taken;
    if (ranks.size() > m_options.max_sync_authors) {
        std::vector<training::AuthorRank> order;
        order.reserve(ranks.size());
        for (const auto& [author, hash] : ranks) order.push_back({hash, author});
        const auto nth =
            order.begin() + static_cast<std::ptrdiff_t>(m_options.max_sync_authors) - 1;
        std::nth_element(order.begin(), nth, order.end());
        last_taken = *nth;
    }
    const auto directions = static_cast<std::uint64_t>(m_spec.zo.directions);
    for (std::size_t i = 0; i < batch.updates.size(); ++i) {
        const auto& s = batch.updates[i];
        const auto& u = s.update;
        if (u.index >= directions || u.round == 0 || !may_train(m_spec, u.author) ||
            !ticket_ok[i]) {
            ++in.invalid;
        } else if (u.round > m_merge_round) {
            ++in.late;
        } else if (m_log->contains(u)) {
            ++in.known;
        } else if (last_taken && *last_taken < training::AuthorRank{ranks.at(u.author), u.author}) {
            ++in.over_cap;
        } else if (!verify_update(m_topic, s)) {
            // The sender served what no author signed: nothing more of its answer is worth
            // checking.
            ++in.forged;
            in.unchecked = batch.updates.size() - i - 1;
            break;
        } else if (accept(s)) {
            ++in.accepted;
        } else {
            ++in.known;  // an equal key earlier in the same answer
        }
    }
    if (m_on_sync_report) {
        asio::post(m_io,
                   [handler = m_on_sync_report, peer = batch.peer, in] { handler(peer, in); });
    }
    return in;
}

std::set<Bytes> ZoEngine::merge_authors() const {
    if (m_author_rank.size() <= m_options.max_sync_authors) return {};
    std::vector<training::AuthorRank> order;
    order.reserve(m_author_rank.size());
    for (const auto& [author, hash] : m_author_rank) order.push_back({hash, author});
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(m_options.max_sync_authors);
    std::partial_sort(order.begin(), end, order.end());
    std::set<Bytes> authors;
    for (auto it = order.begin(); it != end; ++it) authors.insert(std::move(it->author));
    return authors;
}

crypto::Digest ZoEngine::ticket_of(const training::Update& u) const {
    return training::ticket_hash(m_swarm_id, u.author, u.ticket);
}

void ZoEngine::rank_author(const training::Update& u) {
    const auto hash = ticket_of(u);
    auto [it, fresh] = m_author_rank.try_emplace(u.author, hash);
    if (!fresh && hash < it->second) it->second = hash;
}

void ZoEngine::updates(std::uint64_t after, std::uint64_t through, UpdatesHandler done) {
    asio::post(m_compute, [this, after, through, done = std::move(done)] {
        std::vector<training::SignedUpdate> out;
        const auto& all = m_log->updates();
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (all[i].round > after && all[i].round <= through)
                out.push_back(m_log->signed_update(i));
        }
        asio::post(m_io, [done, out = std::move(out)]() mutable { done(std::move(out)); });
    });
}

void ZoEngine::checkpoint_slice(std::uint64_t round, std::uint64_t offset, std::uint64_t count,
                                SyncSource::SliceDone done) {
    asio::post(m_compute, [this, round, offset, count, done = std::move(done)] {
        std::optional<CheckpointSlice> out;
        for (const auto& c : m_canon) {
            if (c.through_round != round || offset > c.params.size()) continue;
            const auto n = std::min<std::uint64_t>(count, c.params.size() - offset);
            out = CheckpointSlice{
                round,
                c.params.size(),
                c.update_count,
                c.model_hash,
                offset,
                std::vector<float>(c.params.begin() + static_cast<std::ptrdiff_t>(offset),
                                   c.params.begin() + static_cast<std::ptrdiff_t>(offset + n))};
        }
        asio::post(m_io, [done, out = std::move(out)]() mutable { done(std::move(out)); });
    });
}

void ZoEngine::catch_up(CatchUp state) {
    asio::post(m_compute, [this, state = std::move(state)]() mutable {
        auto log = category_log("train");
        if (state.checkpoint && state.checkpoint->params.size() == m_init.size() &&
            state.checkpoint->through_round > m_base.through_round) {
            const auto round = state.checkpoint->through_round;
            if (adopt_base(*state.checkpoint)) {
                // Trusted on the voters' word until the log it claims to be is in (check_base);
                // saved only then.
                m_base_checked = false;
                m_theta = m_base.params;
                std::vector<training::Update> suffix;
                for (const auto& u : m_log->updates()) {
                    if (u.round > round) suffix.push_back(u);
                }
                training::replay(m_theta, std::move(suffix), m_rule);
                m_canon.assign(1, m_base);
                log->info("joined from the canonical checkpoint through round {} ({} updates)",
                          round, m_base.update_count);
            }
        }
        const auto before = m_progress.updates;
        std::size_t fetched = 0;
        for (const auto& batch : state.batches) {
            fetched += batch.updates.size();
            take_synced(batch);
        }
        check_base();
        if (!m_base_checked && m_on_prefix_wanted) {
            asio::post(m_io, [handler = m_on_prefix_wanted, through = m_base.through_round] {
                handler(through);
            });
        }
        m_progress.join_unchecked = !m_base_checked;
        if (state.round > m_round.load()) {
            log->info("caught up: {} updates fetched, {} new; training from round {} (was {})",
                      fetched, m_progress.updates - before, state.round, m_round.load());
            m_round = state.round;
            m_progress.round = state.round - 1;
        }
        m_progress.checkpoints = held_checkpoints();
        report();
    });
}

void ZoEngine::reconciled(std::uint64_t through) {
    asio::post(m_compute, [this, through] { m_reconciled = std::max(m_reconciled, through); });
}

// Checkpoints trail the round by twice the staleness window (and two rounds), past which gossip
// no longer adds updates to them.
std::uint64_t ZoEngine::checkpoint_lag() const {
    return 2 * static_cast<std::uint64_t>(m_spec.zo.staleness) + 2;
}

void ZoEngine::resync_span(const crypto::PeerId& author,
                           std::function<void(std::uint64_t, std::uint64_t)> done) {
    asio::post(m_compute, [this, author = author.bytes(), done = std::move(done)] {
        std::uint64_t last = 0;
        for (const auto& u : m_log->updates()) {
            if (u.author == author) last = std::max(last, u.round);
        }
        if (last == 0) return;
        // From a lag before its last update we hold: what it made after that never reached us,
        // and the rounds just before may have been cut short by its leaving.
        const auto lag = checkpoint_lag();
        const auto after = last > lag ? last - lag : 0;
        asio::post(m_io, [done, after, through = m_merge_round] { done(after, through); });
    });
}

void ZoEngine::request_merge(std::uint64_t round) {
    asio::post(m_compute, [this, round] {
        if (m_stopping || round == 0 || round >= m_merge_round) return;
        category_log("merge")->info("merge requested at round {} (was {})", round, m_merge_round);
        m_merge_round = round;
        m_progress.merge_round = round;
        if (m_merging) {
            m_progress.merge_state = "waiting";
            begin_merge();  // again, at the lower round
        } else {
            report();
        }
    });
}

bool ZoEngine::accept(const training::SignedUpdate& s) {
    const auto& u = s.update;
    // Every update up to the merge round is kept (the validator already refused later ones), so
    // the merge sees the same set everywhere even when a peer ran ahead of us.
    auto admitted = m_log->append(s, m_merge_round);
    if (!admitted) {
        category_log("train")->error("update log append failed: {}", admitted.error().message());
        return false;
    }
    if (admitted.value() != training::Admission::accepted) return false;
    rank_author(u);
    ++m_progress.updates;
    const auto held = m_canon.size();
    if (u.round <= m_base.through_round) {
        if (++m_prefix <= m_base.update_count) {  // filling in the prefix the base holds
            if (m_prefix == m_base.update_count) check_base();
            return true;
        }
        // An update the base never covered: it is no longer the canonical state of our set.
        m_base = genesis();
        m_prefix = 0;
        m_canon.clear();
        m_base_checked = true;
        m_progress.join_unchecked = false;
    }
    // The checkpoints that lacked u are no longer canonical: stop announcing (and serving) them;
    // the next step cuts them again with u.
    while (!m_canon.empty() && m_canon.back().through_round >= u.round) m_canon.pop_back();
    if (m_canon.size() != held) m_progress.checkpoints = held_checkpoints();
    training::apply_updates(m_theta, std::span<const training::Update>(&u, 1), m_rule);
    if (m_options.trace) m_options.trace->record(UpdateTrace::Event::apply, u);
    return true;
}

training::Checkpoint ZoEngine::replay_chunks(const training::Checkpoint& from,
                                             std::uint64_t through) const {
    const auto every = std::max<std::uint64_t>(1, m_options.checkpoint_every);
    training::Checkpoint c{through, from.update_count, {}, from.params};
    for (auto start = from.through_round; start < through; start += every) {
        const auto end = std::min(start + every, through);
        std::vector<training::Update> chunk;
        for (const auto& u : m_log->updates()) {
            if (u.round > start && u.round <= end) chunk.push_back(u);
        }
        c.update_count += chunk.size();
        training::replay(c.params, std::move(chunk), m_rule);
    }
    c.model_hash = training::model_hash(c.params);
    return c;
}

void ZoEngine::check_base() {
    if (m_base_checked || m_prefix < m_base.update_count) return;
    auto log = category_log("train");
    auto replayed = replay_chunks(genesis(), m_base.through_round);
    if (replayed.model_hash == m_base.model_hash) {
        ++m_progress.joins_verified;
        log->info(
            "the checkpoint through round {} fetched on joining matches the replay of its {} "
            "updates",
            m_base.through_round, m_base.update_count);
    } else {
        ++m_progress.joins_refuted;
        log->warn(
            "the checkpoint through round {} fetched on joining does not match the replay of its "
            "{} "
            "updates (announced {}, replayed {}): training on from the replay",
            m_base.through_round, m_base.update_count, hex_encode(m_base.model_hash).substr(0, 16),
            hex_encode(replayed.model_hash).substr(0, 16));
        m_base = std::move(replayed);
        m_canon.clear();  // what was built on the refuted base goes with it
        m_theta = m_base.params;
        std::vector<training::Update> suffix;
        for (const auto& u : m_log->updates()) {
            if (u.round > m_base.through_round) suffix.push_back(u);
        }
        training::replay(m_theta, std::move(suffix), m_rule);
    }
    m_base_checked = true;
    m_progress.join_unchecked = false;
    while (!m_canon.empty() && m_canon.front().through_round <= m_base.through_round)
        m_canon.pop_front();
    m_canon.push_front(m_base);
    m_progress.checkpoints = held_checkpoints();
    if (auto ec = training::save_checkpoint(m_options.dir / kCheckpointFile, m_canon.back())) {
        log->error("cannot write the checkpoint: {}", ec.message());
    }
    report();
}

void ZoEngine::maybe_checkpoint(std::uint64_t round) {
    const auto every = m_options.checkpoint_every;
    const auto lag = checkpoint_lag();
    if (every == 0 || round < lag + every) return;
    const auto through = std::min((round - lag) / every * every, m_merge_round);
    const auto& from = m_canon.empty() ? m_base : m_canon.back();
    if (through <= from.through_round) return;
    if (m_on_checkpoint_due && m_reconciled < through) {
        // Not before the peers' updates for these rounds are in: an update some node refused
        // (it arrived outside that node's staleness window) would otherwise split the hashes.
        if (m_reconcile_asked < through) {
            m_reconcile_asked = through;
            asio::post(m_io, [handler = m_on_checkpoint_due, after = from.through_round, through] {
                handler(after, through);
            });
        }
        return;
    }
    // Past the author cap the merge replays only the first authors in byte order, a set that a
    // later author can still change: no checkpoint then, so that none disagrees with the merge
    // (late joiners fetch the whole log instead).
    if (!merge_authors().empty()) return;
    // The canonical checkpoint through `through` is genesis with the rounds replayed one
    // `every`-round chunk at a time: the fused apply groups updates, so one long replay and a
    // chain of short ones differ in the last bits. A node that rebuilds from an older base
    // (genesis after a late update, or a fetched checkpoint) replays the same chunks, and
    // announces the same hash as a node that made every checkpoint in turn.
    auto c = replay_chunks(from, through);
    if (m_base_checked) {
        if (auto ec = training::save_checkpoint(m_options.dir / kCheckpointFile, c)) {
            category_log("train")->error("cannot write the checkpoint: {}", ec.message());
        }
    }
    category_log("train")->debug("canonical checkpoint through round {}: {} updates, hash {}",
                                 through, c.update_count, hex_encode(c.model_hash).substr(0, 16));
    m_canon.push_back(std::move(c));
    while (m_canon.size() > ZoEngineOptions::kKeptCheckpoints) m_canon.pop_front();
    m_progress.checkpoints = held_checkpoints();
}

// After the merge no step cuts checkpoints any more: the ones an update taken in during the
// merge dropped are cut again here, through the last round a step would have cut, so that a
// node announces the checkpoints of the set it merged.
void ZoEngine::recut_checkpoints() {
    const auto every = m_options.checkpoint_every;
    const auto lag = checkpoint_lag();
    if (every == 0 || m_merge_round < lag + every || !m_base_checked) return;
    if (!merge_authors().empty()) return;
    const auto last = (m_merge_round - lag) / every * every;
    bool cut = false;
    for (;;) {
        const auto& from = m_canon.empty() ? m_base : m_canon.back();
        if (from.through_round >= last) break;
        const auto next = std::min(last, (from.through_round / every + 1) * every);
        auto c = replay_chunks(from, next);
        m_canon.push_back(std::move(c));
        while (m_canon.size() > ZoEngineOptions::kKeptCheckpoints) m_canon.pop_front();
        cut = true;
    }
    if (!cut) return;
    if (auto ec = training::save_checkpoint(m_options.dir / kCheckpointFile, m_canon.back())) {
        category_log("train")->error("cannot write the checkpoint: {}", ec.message());
    }
    m_progress.checkpoints = held_checkpoints();
}

void ZoEngine::schedule_step(std::chrono::milliseconds delay) {
    m_timer.expires_after(delay);
    m_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec && !m_stopping) step();
    });
}

void ZoEngine::step() {
    if (m_stopping || m_merging) return;
    const auto r = m_round.load();
    if (r > m_merge_round) {
        begin_merge();
        return;
    }
    // Self-pacing, not a barrier: wait only while more than half the staleness window ahead of
    // the slowest peer heard from recently.
    const auto floor = m_floor.load();
    const auto lead = pacing_lead(static_cast<std::uint64_t>(m_spec.zo.staleness));
    if (floor > 0 && r > floor + lead) {
        schedule_step(ZoEngineOptions::kPacingRecheck);
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    auto batch = sample_batch(m_author, r, m_zo.batch, m_task->train_size());
    auto result = training::zo_step(*m_task, m_theta, m_swarm_id, m_author, r, batch, m_zo);
    for (auto& u : result.updates) u.ticket = m_ticket;
    for (const auto& u : result.updates) accept({u, sign_update(m_key, m_topic, u)});
    asio::post(m_io, [publish = m_publish, updates = result.updates] { publish(updates); });
    m_progress.round = r;
    m_progress.loss = result.loss;
    m_round = r + 1;
    maybe_checkpoint(r);
    if (r % m_options.eval_every == 0) {
        evaluate_and_report();
    } else {
        report();
    }
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    schedule_step(std::max(std::chrono::milliseconds(0), m_options.round_interval - spent));
}

void ZoEngine::evaluate_and_report() {
    auto metrics = m_task->evaluate(m_theta);
    m_progress.eval_loss = metrics.loss;
    m_progress.accuracy = metrics.accuracy;
    m_progress.perplexity = metrics.perplexity;
    report();
}

void ZoEngine::begin_merge() {
    m_merging = true;
    if (m_progress.merge_state == "training") {
        category_log("merge")->info("round {} reached: waiting {} ms for late updates",
                                    m_merge_round, m_options.merge_grace.count());
    }
    m_progress.merge_state = "waiting";
    report();
    m_merge_synced = !m_on_merge;  // without a daemon there is nothing to wait for
    m_grace_over = false;
    if (m_on_merge) asio::post(m_io, [handler = m_on_merge, r = m_merge_round] { handler(r); });
    m_timer.expires_after(m_options.merge_grace);
    m_timer.async_wait([this](boost::system::error_code ec) {
        if (ec || m_stopping) return;
        m_grace_over = true;
        if (m_merge_synced) {
            finish_merge();
            return;
        }
        category_log("merge")->info(
            "waiting up to {} s more for the merge's syncs with peers still answering",
            std::chrono::duration_cast<std::chrono::seconds>(m_options.merge_sync_wait).count());
        m_timer.expires_after(m_options.merge_sync_wait);
        m_timer.async_wait([this](boost::system::error_code ec) {
            if (ec || m_stopping || m_progress.merge_state != "waiting") return;
            category_log("merge")->warn(
                "merging without the syncs still running after {} s: what they bring later makes "
                "this node merge again",
                std::chrono::duration_cast<std::chrono::seconds>(m_options.merge_sync_wait)
                    .count());
            finish_merge();
        });
    });
}

void ZoEngine::merge_reconciled(std::uint64_t merge_round) {
    asio::post(m_compute, [this, merge_round] {
        if (m_stopping || !m_merging || merge_round != m_merge_round || m_merge_synced) return;
        m_merge_synced = true;
        if (m_grace_over && m_progress.merge_state == "waiting") {
            m_timer.cancel();
            finish_merge();
        }
    });
}

void ZoEngine::finish_merge() {
    // The merged model is the canonical replay of every update up to the merge round, so every
    // node holding the same update set writes the same bits.
    std::vector<training::Update> updates;
    std::map<Bytes, std::size_t> per_author;
    const auto taken = merge_authors();
    for (const auto& u : m_log->updates()) {
        if (u.round > m_merge_round || (!taken.empty() && !taken.contains(u.author))) continue;
        updates.push_back(u);
        ++per_author[u.author];
    }
    // A node that joined from a checkpoint and could not fetch the whole prefix merges from it:
    // the checkpoint was verified against several peers' canonical hashes, but not re-derived.
    training::Checkpoint ckpt;
    if (m_prefix < m_base.update_count && m_base.through_round <= m_merge_round) {
        category_log("merge")->warn(
            "merging from the checkpoint through round {} fetched on joining: {} of its {} updates "
            "arrived, so it rests on the voters' word, not on a replay",
            m_base.through_round, m_prefix, m_base.update_count);
        ckpt = m_base;
        ckpt.through_round = m_merge_round;
        std::vector<training::Update> suffix;
        for (const auto& u : updates) {
            if (u.round > m_base.through_round) suffix.push_back(u);
        }
        ckpt.update_count = m_base.update_count + suffix.size();
        training::replay(ckpt.params, std::move(suffix), m_rule);
        ckpt.model_hash = training::model_hash(ckpt.params);
    } else {
        ckpt = training::make_checkpoint(m_init, updates, m_merge_round, m_rule);
    }
    const auto final_dir = m_options.dir.parent_path() / "final";
    std::filesystem::create_directories(final_dir);
    if (auto ec = training::save_checkpoint(final_dir / "model.ckpt", ckpt)) {
        category_log("merge")->error("cannot write the final model: {}", ec.message());
    }
    nlohmann::json participants = nlohmann::json::array();
    for (const auto& [author, count] : per_author) {
        participants.push_back({{"peer_id", author_name(author)}, {"updates", count}});
    }
    auto metrics = m_task->evaluate(ckpt.params);
    nlohmann::json manifest = {
        {"swarm_id", hex_encode(m_swarm_id)},
        {"mode", "zo"},
        {"merge_round", m_merge_round},
        {"updates", ckpt.update_count},
        {"participants", participants},
        {"merged_hash", hex_encode(ckpt.model_hash)},
        {"eval_loss", metrics.loss},
        {"accuracy",
         std::isnan(metrics.accuracy) ? nlohmann::json(nullptr) : nlohmann::json(metrics.accuracy)},
    };
    const auto text = manifest.dump(2) + "\n";
    if (auto ec = write_file_atomic(final_dir / "manifest.json", as_bytes(text), 0644)) {
        category_log("merge")->error("cannot write the merge manifest: {}", ec.message());
    }
    recut_checkpoints();
    m_progress.merge_state = "merged";
    m_progress.merged_hash = ckpt.model_hash;
    m_progress.merged_updates = ckpt.update_count;
    m_progress.participants = per_author.size();
    m_progress.accuracy = metrics.accuracy;
    m_progress.eval_loss = metrics.loss;
    m_progress.perplexity = metrics.perplexity;
    category_log("merge")->info("merged {} updates from {} nodes: hash {} accuracy {:.3f}",
                                ckpt.update_count, per_author.size(),
                                hex_encode(ckpt.model_hash).substr(0, 16), metrics.accuracy);
    report();
}

void ZoEngine::report() {
    asio::post(m_io, [handler = m_on_progress, p = m_progress] { handler(p); });
}

}  // namespace swarmd::node
