#include "node/zo/node.hpp"

#include <algorithm>
#include <cmath>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/pubsub.hpp"
#include "node/zo/sync.hpp"
#include "training/author_ticket.hpp"

namespace swarmd::node {
namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// Authors whose latest round advanced this recently hold the pacing floor.
constexpr std::chrono::seconds kPacingActive{5};
// Gossip score (application-specific, P5) a peer loses per sync answer carrying forged or
// invalid records: the second costs it gossip (-4000), the fourth gets it graylisted (-10000).
constexpr double kSyncStrikePenalty = 2500.0;
// Peers whose sync strikes are kept; past it, newcomers are charged one strike each time.
constexpr std::size_t kMaxStruckPeers = 1024;
// Our own sync requests one peer may have running or waiting; waiting costs nothing.
constexpr std::size_t kMaxSyncsPerPeer = 64;

}  // namespace

ZoNode::ZoNode(asio::io_context& io, net::Host& host, net::Pubsub& pubsub, const Spec& spec,
               const SwarmId& swarm_id, const crypto::PrivateKey& identity, Metrics& metrics,
               ZoNodeOptions options, KnownPeers known_peers)
    : m_io(io),
      m_host(host),
      m_pubsub(pubsub),
      m_spec(spec),
      m_swarm_id(swarm_id),
      m_self(crypto::PeerId::from_public_key(identity.public_key())),
      m_metrics(metrics),
      m_options(std::move(options)),
      m_known_peers(std::move(known_peers)),
      m_admission(AdmissionOptions{static_cast<std::uint64_t>(spec.zo.staleness),
                                   static_cast<std::uint32_t>(spec.zo.directions)}),
      m_alone_timer(io),
      m_floor_timer(io),
      m_updates_in(metrics.counter("swarmd_updates_received_total", "ZO updates received")),
      m_updates_out(metrics.counter("swarmd_updates_published_total", "ZO updates published")),
      m_round_gauge(metrics.gauge("swarmd_round", "Rounds completed by this node")) {
    if (m_options.relay_only) return;
    ZoEngineOptions engine;
    engine.dir = m_options.dir;
    engine.round_interval = m_options.round_interval;
    engine.merge_grace = m_options.merge_grace;
    if (!m_options.trace_updates.empty()) {
        m_trace = std::make_unique<UpdateTrace>(m_options.trace_updates);
        engine.trace = m_trace.get();
    }
    m_engine = std::make_unique<ZoEngine>(
        m_spec, m_swarm_id, identity.clone(), engine, m_io,
        [this](std::vector<training::Update> updates) { publish(updates); },
        [this](const ZoProgress& p) { on_progress(p); });
}

ZoNode::~ZoNode() { stop(); }

std::string ZoNode::topic() const { return zo_topic(m_swarm_id); }

Bytes ZoNode::swarm_id_bytes() const {
    return Bytes(m_swarm_id.bytes().begin(), m_swarm_id.bytes().end());
}

void ZoNode::start() {
    m_pubsub.set_validator(topic(), [this](net::gossipsub::Delivery& d) { return validate(d); });
    m_pubsub.subscribe(topic(), [this](const net::gossipsub::Delivery& d) { deliver(d); });
    if (!m_engine) return;  // a relay only validates and forwards
    SyncSource source;
    source.updates = [this](std::uint64_t after, std::uint64_t through,
                            SyncSource::UpdatesDone done) {
        m_engine->updates(after, through, std::move(done));
    };
    source.checkpoint = [this](std::uint64_t round, std::uint64_t offset, std::uint64_t count,
                               SyncSource::SliceDone done) {
        m_engine->checkpoint_slice(round, offset, count, std::move(done));
    };
    serve_sync(m_host, swarm_id_bytes(), std::move(source));
    schedule_floor();
    m_engine->on_merge_started([this](std::uint64_t merge_round) { reconcile(merge_round); });
    m_engine->on_checkpoint_due([this](std::uint64_t after, std::uint64_t through) {
        reconcile_checkpoint(after, through);
    });
    m_engine->on_sync_report(
        [this](const crypto::PeerId& peer, const SyncIntake& in) { on_sync_report(peer, in); });
    // A checkpoint fetched on joining is checked against the log it claims to be: fetch that
    // log from every trainer known.
    m_engine->on_prefix_wanted([this](std::uint64_t through) {
        category_log("merge")->info(
            "fetching the log through round {} to check the joined checkpoint", through);
        m_prefix_through = through;
        for (const auto& peer : m_known_peers()) reconcile_with(peer, through);
    });
    // Training waits for the first peer, so early updates are not made for nobody; a node that
    // stays alone trains alone after a while.
    m_alone_timer.expires_after(m_options.train_alone_after);
    m_alone_timer.async_wait([this](boost::system::error_code ec) {
        if (ec || m_training_started || m_stopping) return;
        m_training_started = true;
        category_log("node")->warn(
            "no peer after {} s: training alone",
            std::chrono::duration_cast<std::chrono::seconds>(m_options.train_alone_after).count());
        start_engine();
    });
}

void ZoNode::peer_identified(const crypto::PeerId& peer) {
    if (m_merge_round_started) {
        reconcile_with(peer, *m_merge_round_started);
    } else if (m_engine && m_training_started) {
        // A sync answer is taken whole or not at all, so a fetch of the joined checkpoint's log
        // that a lost link cut off left nothing behind: ask for it again of every peer that
        // comes back, until the checkpoint is checked (else that waits for the merge).
        if (m_prefix_through && m_progress.join_unchecked) {
            category_log("merge")->info(
                "fetching the log through round {} again, from reconnected peer={}, to check the "
                "joined checkpoint",
                *m_prefix_through, peer.to_base58());
            reconcile_with(peer, *m_prefix_through);
        }
        // A trainer back after a restart or a lost link may hold updates of its own that nobody
        // got; the checkpoints cut meanwhile lack them. Fetch them now, not only at the merge,
        // so that every node's checkpoints converge on the same set while training goes on.
        m_engine->resync_span(peer, [this, peer](std::uint64_t after, std::uint64_t through) {
            if (m_stopping || m_merge_round_started) return;
            category_log("merge")->debug("resync rounds ({}, {}] with reconnected peer={}", after,
                                         through, peer.to_base58());
            reconcile_with(peer, through, after);
        });
    }
    if (m_engine && !m_training_started) {
        m_training_started = true;
        start_join();
    }
}

void ZoNode::stop() {
    if (m_stopping) return;
    m_stopping = true;
    m_alone_timer.cancel();
    m_floor_timer.cancel();
    if (m_engine) m_engine->stop();  // waits for the step in progress; the log is durable
}

net::gossipsub::Validation ZoNode::validate(net::gossipsub::Delivery& d) {
    using net::gossipsub::Validation;
    auto refused = [this](std::string_view reason) -> Counter& {
        return m_metrics.counter("swarmd_updates_refused_total", "ZO updates refused, by reason",
                                 fmt::format("reason=\"{}\"", reason));
    };
    auto u = decode_zo_message(d.data, d.author.bytes());
    if (!u) {
        refused("malformed").add();  // counts against the sender
        return Validation::reject;
    }
    // The log keeps each update's signature for others to re-verify from the author's id alone
    // (node/zo/sync.hpp): an id that does not embed an Ed25519 key cannot be checked so.
    if (d.signature.size() != std::tuple_size_v<crypto::Signature> || !d.author.public_key()) {
        refused("unverifiable_author").add();
        return Validation::reject;
    }
    if (u->index >= static_cast<std::uint64_t>(m_spec.zo.directions) || u->round == 0 ||
        u->round > static_cast<std::uint64_t>(m_spec.merge_round)) {
        refused("out_of_range").add();
        return Validation::reject;
    }
    // A closed swarm (spec key trainers) takes updates from its trainers only; an honest node
    // never forwards another's, so the forwarder is held to it.
    if (!may_train(m_spec, d.author.bytes())) {
        refused("not_a_trainer").add();
        return Validation::reject;
    }
    // The author's work ticket must meet the spec (training/author_ticket.hpp); an honest node
    // never forwards one that does not.
    const auto ticket = training::ticket_hash(m_swarm_id.bytes(), d.author.bytes(), u->ticket);
    if (training::leading_zero_bits(ticket) < static_cast<unsigned>(m_spec.zo.author_work_bits)) {
        refused("bad_ticket").add();
        return Validation::reject;
    }
    // Bounded acceptance: within the staleness window of our own round, capped per author and
    // in number of authors, ranked by ticket (node/zo/admission.hpp). Pacing keeps honest nodes
    // inside the window; what falls outside is ignored, not held against the forwarder, and the
    // merge's anti-entropy still brings it in.
    const auto view = m_engine && m_engine_started ? m_engine->current_round() : 0;
    const auto verdict = m_admission.admit(d.author, u->round, view, Clock::now(), ticket);
    if (verdict != Admit::accept) {
        refused(to_string(verdict)).add();
        category_log("gossip")->debug("zo update round {} ignored: {} (view {}) peer={}", u->round,
                                      to_string(verdict), view, d.author.to_base58());
        return Validation::ignore;
    }
    d.decoded = std::make_shared<training::Update>(std::move(*u));
    return Validation::accept;
}

void ZoNode::deliver(const net::gossipsub::Delivery& d) {
    m_updates_in.add();
    if (!m_engine) return;                       // a relay only forwards
    auto* u = d.decoded_as<training::Update>();  // the validator's, decoded once
    if (!u) return;
    training::SignedUpdate signed_update{std::move(*u), {d.seqno, {}}};
    std::copy(d.signature.begin(), d.signature.end(), signed_update.signature.bytes.begin());
    m_engine->receive(std::move(signed_update));
    update_floor();
}

void ZoNode::publish(const std::vector<training::Update>& updates) {
    for (const auto& u : updates) {
        auto published = m_pubsub.publish(topic(), encode_zo_message(u));
        if (published) {
            m_updates_out.add();
            if (m_trace) m_trace->record(UpdateTrace::Event::publish, u);
        } else {
            category_log("gossip")->debug("publish failed: {}", published.error().message());
        }
    }
}

// Tells the swarm at once (not at the next heartbeat) that this node trains: nodes of a fresh
// swarm that wait for their peers' heartbeats then start within a poll of each other.
void ZoNode::start_engine() {
    m_engine_started = true;
    m_engine->start();
    if (m_heartbeat_source)
        (void)m_pubsub.publish(status_topic(m_swarm_id), encode_status(m_heartbeat_source()));
}

// A node joining (late, or again after a restart) first listens to the trainers' heartbeats;
// if the swarm is ahead it fetches a checkpoint several of them agree on and the log after it
// before training, and trains from the swarm's round.
void ZoNode::start_join() {
    asio::co_spawn(
        m_io,
        [this]() -> asio::awaitable<void> {
            asio::steady_timer wait(m_io);
            const auto deadline =
                Clock::now() + 3 * m_options.status_interval + std::chrono::seconds(1);
            // Wait for two voters (node/zo/join.hpp), unless the heartbeats heard so far say that
            // nobody is ahead: then there is nothing to catch up and no vote to wait for
            // (made-up heartbeats can only make this node start from its own state sooner).
            const auto own_round = m_engine->current_round();
            const auto window = staleness();
            auto nobody_ahead = [&] {
                const auto beats = recent_trainer_beats();
                if (beats.size() < JoinOptions::kDefaultMinAgree) return false;
                return std::all_of(beats.begin(), beats.end(), [&](const PeerBeat& b) {
                    return b.round <= own_round + window;
                });
            };
            while (!m_stopping && Clock::now() < deadline &&
                   join_beats().size() < JoinOptions::kDefaultMinAgree && !nobody_ahead()) {
                wait.expires_after(std::chrono::milliseconds(50));
                boost::system::error_code ec;
                co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            if (m_stopping) co_return;
            auto beats = join_beats();
            JoinOptions options;
            options.staleness = window;
            options.merge_round = static_cast<std::uint64_t>(m_spec.merge_round);
            options.n_params = m_engine->parameter_count();
            const auto own = m_engine->current_round();
            auto plan = plan_join(beats, own, options);
            auto log = category_log("node");
            if (plan.swarm_round > own + options.staleness) {
                log->info("the swarm is at round {}, this node at {}: catching up from {} peers{}",
                          plan.swarm_round, own, beats.size(),
                          plan.checkpoint ? fmt::format(" (checkpoint through round {} held by {})",
                                                        plan.checkpoint->first, plan.holders.size())
                                          : std::string());
                auto state =
                    co_await fetch_catch_up(m_host, swarm_id_bytes(), beats, plan, own, options);
                if (m_stopping) co_return;
                // The swarm moved on while we fetched: its freshest rounds come from gossip.
                state.round = std::max(state.round, pacing_floor(Clock::now()));
                m_engine->catch_up(std::move(state));
            }
            log->info("joined the swarm: training starts");
            start_engine();
        },
        [this](std::exception_ptr e) {
            if (!e) return;
            category_log("node")->error("joining failed; training from the local state");
            if (!m_stopping) start_engine();
        });
}

// The trainers whose heartbeats a join counts (join_voters): directly connected, not negatively
// scored, one per remote address.
std::vector<PeerBeat> ZoNode::join_beats() const {
    return join_voters(
        recent_trainer_beats(), connected_address_of(m_host),
        [this](const crypto::PeerId& peer) { return m_pubsub.router().score(peer); });
}

std::vector<PeerBeat> ZoNode::recent_trainer_beats() const {
    const auto now = Clock::now();
    std::vector<PeerBeat> out;
    for (const auto& [peer, b] : m_beats) {
        if (now - b.heard <= 3 * m_options.status_interval) out.push_back(b.beat);
    }
    return out;
}

void ZoNode::on_status(const crypto::PeerId& author, const Heartbeat& beat) {
    if (!beat.trainer) {
        m_beats.erase(author);
        return;
    }
    m_beats[author] = TrainerBeat{PeerBeat{author, beat.round, beat.checkpoints}, Clock::now()};
}

void ZoNode::forget(const crypto::PeerId& author) { m_beats.erase(author); }

// The slowest directly connected author whose round still advances. Authors that stalled or
// left no longer hold us back, and authors heard only through gossip never do: identities cost
// nothing, connections do (the joiner bounds them), and each neighbour paces against its own
// neighbours, so pacing still spreads through the swarm.
bool ZoNode::paces_with(const crypto::PeerId& peer) const {
    return m_host.connection_to(peer) != nullptr;
}

std::uint64_t ZoNode::pacing_floor(Clock::time_point now) const {
    return m_admission.floor(m_self, now, kPacingActive,
                             [this](const crypto::PeerId& peer) { return paces_with(peer); });
}

void ZoNode::update_floor() {
    if (!m_engine) return;
    const auto pace = m_admission.pace(
        m_self, Clock::now(), kPacingActive,
        [this](const crypto::PeerId& peer) { return paces_with(peer); }, m_engine->current_round(),
        ZoEngine::pacing_lead(staleness()));
    if (pace.released) {
        m_metrics
            .counter("swarmd_pacing_released_total",
                     "Authors this node stopped waiting for: they held its pace too long")
            .add();
        category_log("train")->info(
            "stopped waiting for peer={}: it held this node's pace for over {:.0f}% of the last "
            "{} s (left out of pacing for {} min; its updates still count)",
            pace.released->to_base58(), 100 * m_admission.options().held_share,
            std::chrono::duration_cast<std::chrono::seconds>(m_admission.options().held_window)
                .count(),
            std::chrono::duration_cast<std::chrono::minutes>(m_admission.options().unpaced_for)
                .count());
    }
    m_engine->set_swarm_floor(pace.floor);
}

void ZoNode::schedule_floor() {
    m_floor_timer.expires_after(m_options.status_interval);
    m_floor_timer.async_wait([this](boost::system::error_code ec) {
        if (ec || m_stopping) return;
        update_floor();
        schedule_floor();
    });
}

// Anti-entropy for the merge: fetch every known trainer's updates up to the merge round; the
// engine adds what it lacks before its grace period ends.
void ZoNode::reconcile(std::uint64_t merge_round) {
    m_merge_round_started = merge_round;
    const auto peers = m_known_peers();
    if (peers.empty()) {
        if (m_engine) m_engine->merge_reconciled(merge_round);
        return;
    }
    // The engine merges once the grace is over and every one of these syncs is (or after its
    // merge_sync_wait).
    auto left = std::make_shared<std::size_t>(peers.size());
    for (const auto& peer : peers) {
        reconcile_with(peer, merge_round, 0, [this, left, merge_round] {
            if (--*left == 0 && m_engine) m_engine->merge_reconciled(merge_round);
        });
    }
}

// Fetches the peer's updates in (after, through] into the engine; `done` runs afterwards,
// whether the fetch worked or not.
void ZoNode::reconcile_with(const crypto::PeerId& peer_id, std::uint64_t through,
                            std::uint64_t after, std::function<void()> done) {
    // One sync answer per peer is read at a time, so a peer cannot have this node hold several
    // of its answers; further requests (this node's own reconciles) wait their turn.
    if (m_sync_requests[peer_id] >= kMaxSyncsPerPeer) {
        category_log("merge")->debug("sync skipped: {} already asked of peer={}", kMaxSyncsPerPeer,
                                     peer_id.to_base58());
        if (done) done();
        return;
    }
    ++m_sync_requests[peer_id];
    asio::co_spawn(
        m_io,
        [this, peer = peer_id, through, after]() -> asio::awaitable<void> {
            struct Release {
                ZoNode& n;
                crypto::PeerId peer;
                bool running = false;
                ~Release() {
                    if (running) n.m_sync_running.erase(peer);
                    if (auto it = n.m_sync_requests.find(peer);
                        it != n.m_sync_requests.end() && --it->second == 0)
                        n.m_sync_requests.erase(it);
                }
            } release{*this, peer};
            asio::steady_timer turn(m_io);
            while (m_sync_running.contains(peer) && !m_stopping) {
                turn.expires_after(std::chrono::milliseconds(20));
                boost::system::error_code ignored;
                co_await turn.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            }
            if (m_stopping) co_return;
            m_sync_running.insert(peer);
            release.running = true;
            auto updates = co_await fetch_updates(m_host, peer, swarm_id_bytes(), through, after);
            if (!updates) {
                category_log("merge")->debug("sync failed: {} peer={}", updates.error().message(),
                                             peer.to_base58());
                // What fetch_updates cut off as hostile (node/zo/sync.hpp), by reason.
                const auto e = updates.error();
                const char* reason = e == net::Errc::bad_signature       ? "bad_signature"
                                     : e == net::Errc::message_too_large ? "over_cap"
                                     : e == net::Errc::protocol_error ||
                                             e == net::Errc::truncated_message ||
                                             e == net::Errc::bad_peer_id
                                         ? "malformed"
                                         : nullptr;
                if (reason)
                    m_metrics
                        .counter("swarmd_sync_refused_total",
                                 "Sync answers cut off while read, by reason",
                                 fmt::format("reason=\"{}\"", reason))
                        .add();
                co_return;
            }
            category_log("merge")->debug("sync: {} updates in rounds ({}, {}] peer={}",
                                         updates.value().size(), after, through, peer.to_base58());
            if (m_engine) m_engine->receive_synced({peer, std::move(updates.value())});
        },
        [done = std::move(done)](std::exception_ptr e) {
            if (e) category_log("merge")->error("sync task failed");
            if (done) done();
        });
}

// Before a canonical checkpoint: the same anti-entropy as the merge's, over the rounds the
// checkpoint adds, with every connected trainer.
void ZoNode::reconcile_checkpoint(std::uint64_t after, std::uint64_t through) {
    if (m_stopping || !m_engine) return;
    std::vector<crypto::PeerId> peers;
    for (const auto& beat : recent_trainer_beats()) {
        if (m_host.connection_to(beat.peer)) peers.push_back(beat.peer);
    }
    category_log("train")->debug("reconciling rounds ({}, {}] with {} peers before a checkpoint",
                                 after, through, peers.size());
    if (peers.empty()) {
        m_engine->reconciled(through);
        return;
    }
    auto left = std::make_shared<std::size_t>(peers.size());
    for (const auto& peer : peers) {
        reconcile_with(peer, through, after, [this, left, through] {
            if (--*left == 0 && m_engine) m_engine->reconciled(through);
        });
    }
}

// What the engine made of a peer's sync answer. A record whose signature does not verify was
// made up by the sender (or by whoever it took it from unverified, which an honest node never
// does): it costs the sender its gossip standing, a step per refused answer.
void ZoNode::on_sync_report(const crypto::PeerId& peer, const SyncIntake& in) {
    auto count = [this](const char* reason, std::size_t n) {
        if (n == 0) return;
        m_metrics
            .counter("swarmd_sync_records_dropped_total", "Sync records not taken, by reason",
                     fmt::format("reason=\"{}\"", reason))
            .add(n);
    };
    count("forged", in.forged);
    count("unchecked", in.unchecked);
    count("invalid", in.invalid);
    count("over_author_cap", in.over_cap);
    m_metrics
        .counter("swarmd_sync_records_accepted_total", "Sync records verified and added to the log")
        .add(in.accepted);
    category_log("merge")->debug(
        "sync answer: {} new, {} known, {} late, {} over the author cap, {} invalid, {} forged "
        "({} unchecked after it) peer={}",
        in.accepted, in.known, in.late, in.over_cap, in.invalid, in.forged, in.unchecked,
        peer.to_base58());
    if (!in.refused()) return;
    const bool tracked = m_sync_strikes.contains(peer) || m_sync_strikes.size() < kMaxStruckPeers;
    const auto strikes = tracked ? ++m_sync_strikes[peer] : 1;
    m_pubsub.router().set_app_score(peer, -kSyncStrikePenalty * static_cast<double>(strikes));
}

void ZoNode::on_progress(const ZoProgress& p) {
    update_floor();
    const bool new_round = p.round != m_progress.round;
    const bool state_changed = p.merge_state != m_progress.merge_state;
    m_progress = p;
    if ((new_round && (p.round % 10 == 0 || p.round == 1)) || state_changed) {
        std::string quality = !std::isnan(p.accuracy)
                                  ? fmt::format("accuracy {:.3f}", p.accuracy)
                                  : fmt::format("perplexity {:.2f}", p.perplexity);
        category_log("train")->info("round {}/{} loss {:.4f} {} updates {} peers {} [{}]", p.round,
                                    m_spec.merge_round, p.loss, quality, p.updates,
                                    m_host.connection_count(), p.merge_state);
    }
    m_round_gauge.set(static_cast<double>(p.round));
}

std::uint64_t ZoNode::current_round() const { return m_engine ? m_engine->current_round() : 0; }

std::uint64_t ZoNode::merge_round() const {
    return m_progress.merge_round > 0 ? m_progress.merge_round
                                      : static_cast<std::uint64_t>(m_spec.merge_round);
}

void ZoNode::request_merge(const crypto::PeerId& from, std::uint64_t round) {
    if (!m_engine) return;
    category_log("merge")->info("merge ordered at round {} peer={}", round, from.to_base58());
    m_engine->request_merge(round);
}

void ZoNode::heartbeat(Heartbeat& beat) const {
    beat.round = m_progress.round;
    beat.merge_round = merge_round();
    beat.checkpoints = m_progress.checkpoints;
    beat.merge_state = m_options.relay_only ? "relay" : m_progress.merge_state;
    beat.merged_hash = m_progress.merged_hash;
    beat.accuracy = finite_or(m_progress.accuracy, -1.0);
}

void ZoNode::status(json& j) const {
    j["mesh"][topic()] = m_pubsub.router().mesh_peers(topic()).size();
    j["updates_in"] = m_updates_in.value();
    j["updates_out"] = m_updates_out.value();
    j["round"] = m_progress.round;
    j["updates"] = m_progress.updates;
    j["loss"] = m_progress.loss;
    j["eval_loss"] = m_progress.eval_loss;
    j["accuracy"] = finite_or(m_progress.accuracy, -1.0);
    j["perplexity"] = finite_or(m_progress.perplexity, -1.0);
    j["merge_state"] = m_options.relay_only ? "relay" : m_progress.merge_state;
    j["merged_hash"] = m_progress.merged_hash ? hex_encode(*m_progress.merged_hash) : "";
    j["merged_updates"] = m_progress.merged_updates;
    j["participants"] = m_progress.participants;
    j["checkpoints"] = checkpoints_json(m_progress.checkpoints);
    j["authors_tracked"] = m_admission.authors();
}

void ZoNode::update_metrics() {
    m_metrics.gauge("swarmd_updates", "Updates in the update log")
        .set(static_cast<double>(m_progress.updates));
    m_metrics.gauge("swarmd_loss", "Last training loss").set(m_progress.loss);
    m_metrics.gauge("swarmd_accuracy", "Held-out accuracy (-1 when not a classifier)")
        .set(finite_or(m_progress.accuracy, -1.0));
    m_metrics.gauge("swarmd_merged", "1 once the final merge is written")
        .set(m_progress.merge_state == "merged" ? 1 : 0);
    const char* checks_help =
        "Checkpoints fetched on joining, checked against the replay of their log";
    m_metrics.counter("swarmd_join_checkpoints_total", checks_help, "result=\"verified\"")
        .set(m_progress.joins_verified);
    m_metrics.counter("swarmd_join_checkpoints_total", checks_help, "result=\"refuted\"")
        .set(m_progress.joins_refuted);
}

}  // namespace swarmd::node
