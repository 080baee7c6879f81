#include "node/sapo/node.hpp"

#include "node/core/voters.hpp"

#include <boost/asio/co_spawn.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "net/host.hpp"
#include "net/pubsub.hpp"
#include "node/sapo/sync.hpp"

namespace swarmd::node {
namespace asio = boost::asio;
using json = nlohmann::json;
using net::gossipsub::Validation;

namespace {

constexpr std::size_t kGossipOverhead = 4096;  // signature, key, topic, framing
// Peers that must announce the same base policy before a node fetches it instead of making it:
// one peer alone could announce anything.
constexpr std::size_t kMinBaseAgree = 2;

std::optional<crypto::Digest> digest_from_hex(const std::string& text) {
    auto bytes = hex_decode(text);
    if (!bytes || bytes.value().size() != 32) return std::nullopt;
    crypto::Digest d;
    std::copy(bytes.value().begin(), bytes.value().end(), d.begin());
    return d;
}

}  // namespace

SapoNode::SapoNode(asio::io_context& io, net::Host& host, net::Pubsub& pubsub, const Spec& spec,
                   const SwarmId& swarm_id, crypto::PeerId self, Metrics& metrics,
                   SapoNodeOptions options)
    : m_io(io),
      m_host(host),
      m_pubsub(pubsub),
      m_spec(spec),
      m_swarm_id(swarm_id),
      m_self(std::move(self)),
      m_metrics(metrics),
      m_options(std::move(options)),
      m_alone_timer(io),
      m_merge_timer(io),
      m_base_timer(io),
      m_batches_in(metrics.counter("swarmd_rollout_batches_received_total",
                                   "Rollout batches accepted from peers")),
      m_batches_out(
          metrics.counter("swarmd_rollout_batches_published_total", "Rollout batches published")),
      m_batches_rejected(metrics.counter("swarmd_rollout_batches_rejected_total",
                                         "Rollout batches rejected (malformed, lying, off-spec)")),
      m_batches_ignored(
          metrics.counter("swarmd_rollout_batches_ignored_total",
                          "Rollout batches ignored (duplicate or outside the round window)")) {
    const auto& sapo = spec.sapo;
    // The caps follow the spec: a batch is at most `local` groups of `completions` rollouts of
    // at most `max_tokens` tokens, and fits in one gossip message.
    m_limits.max_groups = static_cast<std::size_t>(std::max<std::int64_t>(1, sapo.local));
    m_limits.max_completions =
        static_cast<std::size_t>(std::max<std::int64_t>(2, sapo.completions));
    m_limits.max_tokens = static_cast<std::size_t>(sapo.max_tokens);
    m_limits.max_bytes = net::gossipsub::Options::kMaxRpcSize - kGossipOverhead;
    for (const auto& name : sapo.families) {
        const auto family = rl::parse_family(name).value();
        for (auto level = sapo.level_min; level <= sapo.level_max; ++level) {
            m_mix.emplace(family, static_cast<std::uint8_t>(level));
        }
    }
    if (!m_options.relay_only) {
        const auto& policy = choose_policy(spec, m_options.policy);
        SapoEngineOptions engine;
        engine.dir = m_options.dir;
        engine.round_interval = m_options.round_interval;
        m_engine = std::make_unique<SapoEngine>(
            spec, policy, m_self.to_base58(), engine, io,
            [this](std::uint64_t round, Bytes batch) { publish(round, std::move(batch)); },
            [this](const SapoProgress& p) { on_progress(p); },
            [this](SharedWeights w) { on_commit(std::move(w)); });
        m_progress.phase = "warmup";
    }
}

SapoNode::~SapoNode() { stop(); }

std::string SapoNode::topic() const { return rollouts_topic(m_swarm_id); }

void SapoNode::start() {
    m_pubsub.set_validator(topic(), [this](net::gossipsub::Delivery& d) { return validate(d); });
    m_pubsub.subscribe(topic(), [this](const net::gossipsub::Delivery& d) { deliver(d); });
    if (!m_engine) return;
    const Bytes swarm_id(m_swarm_id.bytes().begin(), m_swarm_id.bytes().end());
    serve_merge(m_host, swarm_id,
                MergeServer{[this] { return m_merge ? m_merge->own_commitment() : std::nullopt; },
                            [this](const crypto::Digest& h) {
                                return m_merge ? m_merge->weights(h) : nullptr;
                            }});
    serve_base(m_host, swarm_id, [this](const crypto::Digest& h) {
        return m_base_hash && *m_base_hash == h ? m_base : nullptr;
    });
    if (m_engine->has_cached_base()) {
        start_engine(nullptr);
    } else {
        // No base policy here: fetch it if peers announce one, else make it (try_base).
        m_base_timer.expires_after(m_options.base_wait);
        m_base_timer.async_wait([this](boost::system::error_code ec) {
            if (!ec && !m_stopping) try_base(true);
        });
    }
    // A node that stays alone trains alone after a while.
    m_alone_timer.expires_after(m_options.train_alone_after);
    m_alone_timer.async_wait([this](boost::system::error_code ec) {
        if (ec || m_begun || m_stopping) return;
        category_log("node")->warn(
            "no peer after {} s: training alone",
            std::chrono::duration_cast<std::chrono::seconds>(m_options.train_alone_after).count());
        m_begun = true;
        m_engine->begin();
    });
}

void SapoNode::try_base(bool waited_enough) {
    if (m_base_phase != BasePhase::waiting || m_stopping) return;
    const auto& policy = m_engine->policy_spec().name;
    // Only peers that cost something vote (node/core/voters.hpp): connected directly,
    // not negatively scored, one per remote address.
    std::vector<crypto::PeerId> of_policy;
    for (const auto& [peer, beat] : m_beats)
        if (beat.policy == policy) of_policy.push_back(peer);
    const auto voters =
        select_voters(of_policy, connected_address_of(m_host),
                      [this](const crypto::PeerId& peer) { return m_pubsub.router().score(peer); });
    std::map<crypto::PeerId, BaseAnnouncement> announced;
    std::size_t holding = 0;
    for (const auto& peer : voters) {
        const auto& beat = m_beats.at(peer);
        if (beat.base_hash) ++holding;
        announced[peer] = {beat.policy, beat.base_hash, beat.base_parameters};
    }
    const bool anyone_holds = holding > 0;
    // A majority of the voters that announce a base, and at least two unless waiting is over.
    const std::size_t majority = holding / 2 + 1;
    const std::size_t need = waited_enough ? majority : std::max(kMinBaseAgree, majority);
    if (auto agreed = agree_on_base(announced, policy, need)) {
        // A size other than this node's shape is refused before anything is fetched or allocated.
        if (agreed->parameters != m_engine->shape_parameters()) {
            category_log("node")->warn(
                "peers announce base policy {} with {} parameters, this shape has {}: not fetched",
                policy, agreed->parameters, m_engine->shape_parameters());
            m_metrics
                .counter("swarmd_base_refused_total", "Announced base policies refused, by reason",
                         "reason=\"wrong_size\"")
                .add();
            start_engine(nullptr, "the announced base policy does not fit this shape");
            return;
        }
        fetch_base_from(std::move(agreed->holders), agreed->hash, agreed->parameters);
        return;
    }
    if (waited_enough) {
        start_engine(nullptr, "no majority of connected peers announced one");
    } else if (!voters.empty() && !anyone_holds) {
        start_engine(nullptr, "the peers of this policy are making it too");
    }
}

void SapoNode::fetch_base_from(std::vector<crypto::PeerId> holders, crypto::Digest hash,
                               std::uint64_t parameters) {
    m_base_phase = BasePhase::fetching;
    m_base_timer.cancel();
    category_log("node")->info("fetching base policy {} ({}) from {} peers",
                               m_engine->policy_spec().name, hex_encode(hash).substr(0, 16),
                               holders.size());
    asio::co_spawn(m_io, fetch_base_task(std::move(holders), hash, parameters),
                   [](std::exception_ptr e) {
                       if (e) category_log("node")->error("base policy fetch failed");
                   });
}

asio::awaitable<void> SapoNode::fetch_base_task(std::vector<crypto::PeerId> holders,
                                                crypto::Digest hash, std::uint64_t parameters) {
    const Bytes swarm_id(m_swarm_id.bytes().begin(), m_swarm_id.bytes().end());
    const auto started = Clock::now();
    const auto policy = m_engine->policy_spec().name;
    auto got = co_await fetch_base(m_host, swarm_id, hash, policy, parameters, holders);
    // Weights that do not match: one holder lied or broke. Each alone is verified on its
    // own, so an honest holder still serves the whole.
    if (!got && got.error() == SapoSyncErrc::hash_mismatch && holders.size() > 1) {
        for (const auto& holder : holders) {
            if (m_stopping) co_return;
            category_log("node")->warn(
                "base policy slices did not verify: asking for the whole alone peer={}",
                holder.to_base58());
            // (Not a braced list inside co_await: GCC 12 cannot keep its array in the frame.)
            std::vector<crypto::PeerId> alone(1, holder);
            got = co_await fetch_base(m_host, swarm_id, hash, policy, parameters, alone);
            if (got) break;
        }
    }
    if (m_stopping) co_return;
    if (!got) {
        category_log("node")->warn("base policy {} not fetched: {}", policy, got.error().message());
        start_engine(nullptr, "the fetch failed");
        co_return;
    }
    m_base_holders = got.value().slices_from.size();
    std::string spread;
    for (const auto& [peer, n] : got.value().slices_from)
        spread += fmt::format(" {}:{}", peer.to_base58().substr(0, 12), n);
    category_log("node")->info(
        "base policy {} fetched from {} peers in {:.1f} s, hash verified (slices{})", policy,
        m_base_holders, std::chrono::duration<double>(Clock::now() - started).count(), spread);
    start_engine(std::make_shared<const std::vector<float>>(std::move(got.value().weights)));
}

void SapoNode::start_engine(SharedWeights fetched, std::string_view making_because) {
    if (m_base_phase == BasePhase::started || m_stopping) return;
    m_base_phase = BasePhase::started;
    m_base_timer.cancel();
    if (!making_because.empty()) {
        category_log("node")->info("making base policy {} here: {}", m_engine->policy_spec().name,
                                   making_because);
    }
    m_engine->start(std::move(fetched));
}

std::uint64_t SapoNode::current_round() const { return m_engine ? m_engine->current_round() : 0; }

std::uint64_t SapoNode::merge_round() const {
    return m_engine ? m_engine->merge_round() : static_cast<std::uint64_t>(m_spec.merge_round);
}

void SapoNode::request_merge(const crypto::PeerId& from, std::uint64_t round) {
    if (!m_engine || m_stopping || round == 0 || round >= merge_round()) return;
    if (m_merge) {
        category_log("merge")->debug(
            "merge request for round {} ignored: committed at round {} already peer={}", round,
            merge_round(), from.to_base58());
        return;
    }
    category_log("merge")->info("merge requested at round {} peer={}", round, from.to_base58());
    m_engine->request_merge(round);
}

void SapoNode::peer_identified(const crypto::PeerId&) {
    // A connection alone is not a swarm (the first peer is often a relay-only bootstrap node):
    // rounds begin once another trainer's heartbeat is heard, see on_status().
}

void SapoNode::begin_rounds() {
    if (!m_engine || m_begun || m_stopping) return;
    m_begun = true;
    category_log("node")->info("joined the swarm: SAPO rounds start once the base policy is ready");
    m_engine->begin();
}

void SapoNode::stop() {
    if (m_stopping) return;
    m_stopping = true;
    m_alone_timer.cancel();
    m_merge_timer.cancel();
    m_base_timer.cancel();
    if (m_engine) m_engine->stop();
}

Validation SapoNode::validate(net::gossipsub::Delivery& d) {
    if (!may_train(m_spec, d.author.bytes())) {
        m_batches_rejected.add();
        category_log("rl")->debug(
            "rollout batch rejected: author is not a trainer of this swarm peer={}",
            d.received_from.to_base58());
        return Validation::reject;
    }
    auto checked = rl::check_batch(d.data, m_limits);
    const auto reject = [&](std::string_view why) {
        m_batches_rejected.add();
        category_log("rl")->debug("rollout batch rejected: {} peer={}", why,
                                  d.received_from.to_base58());
        return Validation::reject;
    };
    if (!checked) return reject(checked.error().message());
    auto& batch = checked.value();
    if (batch.author != d.author.to_base58()) return reject("author is not the signer");
    if (batch.round == 0 || batch.round > static_cast<std::uint64_t>(m_spec.merge_round))
        return reject("round");
    // Past a requested merge round: its author may not have heard the request yet.
    if (batch.round > merge_round()) {
        m_batches_ignored.add();
        return Validation::ignore;
    }
    for (const auto& g : batch.groups) {
        if (g.group.completions.size() != static_cast<std::size_t>(m_spec.sapo.completions)) {
            return reject("group size");
        }
        if (!m_mix.contains({g.group.task.family, g.group.task.level}))
            return reject("task outside the spec");
    }
    // Rewards were recomputed here: a batch that lies about them is not forwarded.
    if (batch.lied > 0) return reject("claimed rewards differ from the recomputed ones");
    const auto key = std::pair(d.author, batch.round);
    if (m_seen.contains(key)) {
        m_batches_ignored.add();
        return Validation::ignore;  // one batch per author and round
    }
    const std::uint64_t staleness = static_cast<std::uint64_t>(m_spec.sapo.staleness);
    if (m_engine && m_progress.phase == "training") {
        const std::uint64_t r = m_engine->current_round();
        if (batch.round + staleness < r || batch.round > r + staleness) {
            m_batches_ignored.add();
            return Validation::ignore;
        }
    }
    m_seen.insert(key);
    if (m_host.connection_to(d.author)) m_pacing.note(d.author, batch.round, Clock::now());
    if (m_engine) d.decoded = std::make_shared<rl::CheckedBatch>(std::move(batch));
    return Validation::accept;
}

void SapoNode::deliver(const net::gossipsub::Delivery& d) {
    auto* batch = d.decoded_as<rl::CheckedBatch>();  // the validator's, checked once
    if (!batch) return;
    m_batches_in.add();
    if (m_engine && !m_stopping) m_engine->receive(std::move(*batch));
    update_floor();
}

void SapoNode::publish(std::uint64_t round, Bytes batch) {
    if (m_stopping) return;
    auto published = m_pubsub.publish(topic(), batch);
    if (published) {
        m_batches_out.add();
    } else {
        category_log("gossip")->debug("rollout publish failed at round {}: {}", round,
                                      published.error().message());
    }
}

void SapoNode::update_floor() {
    // A neighbour's progress is the latest round of its rollout batches and heartbeats; the
    // floor is the slowest neighbour's whose round advanced recently (node/core/pacing.hpp).
    const auto connected = [this](const crypto::PeerId& peer) {
        return m_host.connection_to(peer) != nullptr;
    };
    m_pacing.forget_if([&](const crypto::PeerId& peer) { return !connected(peer); });
    const auto floor = m_pacing.floor(Clock::now(), m_options.author_active, connected);
    if (m_engine) m_engine->set_swarm_floor(floor);
    // Forget (author, round) pairs that can no longer pass the window.
    if (m_engine) {
        const auto r = m_engine->current_round();
        const auto staleness = static_cast<std::uint64_t>(m_spec.sapo.staleness);
        std::erase_if(m_seen, [&](const auto& k) { return k.second + staleness + 1 < r; });
    }
}

void SapoNode::on_progress(const SapoProgress& p) {
    const bool new_round = p.round != m_progress.round;
    const bool phase_changed = p.phase != m_progress.phase;
    m_progress = p;
    if (p.base && !m_base) {
        m_base = p.base;
        m_base_hash = digest_from_hex(p.base_hash);
    }
    update_floor();
    if ((new_round && (p.round % 10 == 0 || p.round == 1)) || phase_changed) {
        category_log("train")->info(
            "round {}/{} reward {:.3f} (last 10: {:.3f}) external {} peers {} [{}]", p.round,
            p.merge_round, p.reward, p.recent_reward, p.external_used, m_host.connection_count(),
            m_merge ? m_merge->state() : p.phase);
    }
}

void SapoNode::on_commit(SharedWeights weights) {
    if (m_stopping) return;
    const auto& policy = m_engine->policy_spec().name;
    m_merge.emplace(m_self, policy, weights->size(), m_engine->merge_round(), m_options.merge);
    m_merge->commit(std::move(weights), Clock::now());
    for (const auto& [peer, beat] : m_beats) feed_coordinator(peer);
    publish_heartbeat();
    // Ask every connected peer for its commitment directly; heartbeats carry them too.
    const Bytes swarm_id(m_swarm_id.bytes().begin(), m_swarm_id.bytes().end());
    for (const auto& [peer, beat] : m_beats) {
        if (beat.policy != policy || !m_host.connection_to(peer)) continue;
        asio::co_spawn(
            m_io,
            [this, peer = peer, swarm_id]() -> asio::awaitable<void> {
                auto c = co_await fetch_commitment(m_host, peer, swarm_id);
                if (c && m_merge && !m_stopping) m_merge->committed(peer, c.value(), Clock::now());
            },
            [](std::exception_ptr e) {
                if (e) category_log("merge")->error("commitment request failed");
            });
    }
    merge_tick();
}

void SapoNode::feed_coordinator(const crypto::PeerId& peer) {
    const auto it = m_beats.find(peer);
    if (!m_merge || it == m_beats.end()) return;
    m_merge->heard(peer, it->second.policy, it->second.commitment, it->second.merged_from,
                   it->second.at);
}

void SapoNode::merge_tick() {
    if (!m_merge || m_stopping) return;
    const auto now = Clock::now();
    for (auto& f : m_merge->fetches(now)) start_fetch(std::move(f));
    if (auto inputs = m_merge->due(now)) {
        category_log("merge")->info("merging {} commitments of policy {}", inputs->size(),
                                    m_engine->policy_spec().name);
        m_engine->merge(std::move(*inputs), [this](SapoMergeOutcome outcome) {
            if (m_stopping || !m_merge) return;
            m_merge->merged(outcome.participants, outcome.hash);
            m_merged = std::move(outcome);
            publish_heartbeat();
        });
    }
    m_merge_timer.expires_after(m_options.merge_tick);
    m_merge_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) merge_tick();
    });
}

void SapoNode::start_fetch(MergeCoordinator::Fetch fetch) {
    const Bytes swarm_id(m_swarm_id.bytes().begin(), m_swarm_id.bytes().end());
    asio::co_spawn(
        m_io,
        [this, f = std::move(fetch), swarm_id]() -> asio::awaitable<void> {
            const auto policy = m_engine->policy_spec().name;
            const auto parameters = m_engine->parameter_count();
            for (const auto& source : f.sources) {
                if (!m_host.connection_to(source)) continue;
                auto w =
                    co_await fetch_weights(m_host, source, swarm_id, f.hash, policy, parameters);
                if (m_stopping || !m_merge) co_return;
                if (w) {
                    category_log("merge")->debug("weights of {} fetched peer={}",
                                                 f.author.to_base58(), source.to_base58());
                    const auto verdict = m_merge->weights_arrived(
                        f.hash, std::make_shared<const std::vector<float>>(std::move(w.value())));
                    if (verdict != WeightsVerdict::accepted) {
                        category_log("merge")->warn(
                            "weights of {} refused ({}): left out of the merge peer={}",
                            f.author.to_base58(), to_string(verdict), source.to_base58());
                        m_metrics
                            .counter("swarmd_merge_weights_refused_total",
                                     "Fetched merge weights refused, by reason",
                                     fmt::format("reason=\"{}\"", to_string(verdict)))
                            .add();
                    }
                    co_return;
                }
                category_log("merge")->debug("weights of {} not fetched: {} peer={}",
                                             f.author.to_base58(), w.error().message(),
                                             source.to_base58());
            }
            if (m_merge) m_merge->fetch_failed(f.hash, Clock::now());
        },
        [](std::exception_ptr e) {
            if (e) category_log("merge")->error("weights fetch failed");
        });
}

void SapoNode::on_status(const crypto::PeerId& author, const Heartbeat& b) {
    if (author == m_self || b.policy.empty()) return;  // a relay, or another mode
    // A closed swarm merges and fetches base policies from its trainers only.
    if (!may_train(m_spec, author.bytes())) return;
    PeerBeat beat;
    beat.at = Clock::now();
    beat.policy = b.policy;
    beat.round = b.round;
    beat.reward = b.reward;
    if (b.commit) {
        beat.commitment =
            WeightsCommitment{beat.policy, b.commit->round, b.commit->hash, b.commit->parameters};
    }
    beat.base_hash = b.base_hash;
    beat.base_parameters = b.base_parameters;
    beat.merged_from = b.merged_from;
    if (m_host.connection_to(author)) m_pacing.note(author, beat.round, Clock::now());
    m_beats[author] = std::move(beat);
    feed_coordinator(author);
    update_floor();
    begin_rounds();  // another trainer is there, and now counts in the pacing floor
    if (m_engine && m_base_phase == BasePhase::waiting) try_base(false);
}

void SapoNode::forget(const crypto::PeerId& author) { m_beats.erase(author); }

void SapoNode::heartbeat(Heartbeat& beat) const {
    if (!m_engine) return;
    beat.round = m_progress.round;
    beat.policy = m_engine->policy_spec().name;
    beat.reward = m_progress.recent_reward;
    beat.base_hash = digest_from_hex(m_progress.base_hash);
    beat.base_parameters = m_progress.base_hash.empty() ? 0 : m_progress.parameters;
    beat.merge_round = merge_round();
    beat.merge_state = m_merge ? m_merge->state() : m_progress.phase;
    beat.merged_hash = m_merged ? std::optional(m_merged->hash) : std::nullopt;
    beat.accuracy = m_merged ? m_merged->accuracy : -1.0;
    if (m_merge && m_merge->own_commitment()) {
        const auto c = *m_merge->own_commitment();  // returned by value
        beat.commit = BeatCommit{c.hash, c.round, c.parameters};
        beat.merged_from.clear();
        for (const auto& p : m_merge->participants()) {
            if (beat.merged_from.size() >= kMaxMergedFromInBeat) break;
            if (p != m_self) beat.merged_from.push_back(p);
        }
    }
}

void SapoNode::publish_heartbeat() {
    if (m_heartbeat_source)
        (void)m_pubsub.publish(status_topic(m_swarm_id), encode_status(m_heartbeat_source()));
}

void SapoNode::status(json& j) const {
    j["mesh"][topic()] = m_pubsub.router().mesh_peers(topic()).size();
    if (!m_engine) return;
    Heartbeat own;
    heartbeat(own);
    json fields;
    add_heartbeat_fields(own, fields);
    for (const char* key :
         {"round", "policy", "reward", "base_hash", "base_parameters", "merge_round", "merge_state",
          "merged_hash", "accuracy", "commit", "merged_from"}) {
        if (fields.contains(key)) j[key] = fields[key];
    }
    j["phase"] = m_progress.phase;
    j["base_source"] = m_progress.base_source;
    j["base_holders"] = m_base_holders;
    j["start_round"] = m_progress.start_round;
    j["loss"] = m_progress.loss;
    j["reward_last_round"] = m_progress.reward;
    j["cumulative_reward"] = m_progress.cumulative_reward;
    j["rollouts"] = m_progress.rollouts;
    j["external_used"] = m_progress.external_used;
    j["external_last_round"] = m_progress.external_last;
    j["groups_trained"] = m_progress.groups_trained;
    j["parameters"] = m_progress.parameters;
    j["rollout_batches_in"] = m_batches_in.value();
    j["rollout_batches_out"] = m_batches_out.value();
    j["rollout_batches_rejected"] = m_batches_rejected.value();
    j["rollout_batches_ignored"] = m_batches_ignored.value();
    j["pool"] = {{"accepted", m_progress.pool.accepted},
                 {"stale", m_progress.pool.stale},
                 {"duplicate", m_progress.pool.duplicate},
                 {"lied", m_progress.pool.lied}};
    json participants = json::array();
    if (m_merge) {
        for (const auto& p : m_merge->participants()) participants.push_back(p.to_base58());
        json pending = json::array();
        for (const auto& p : m_merge->pending(Clock::now())) pending.push_back(p.to_base58());
        j["merge_pending"] = pending;
    }
    j["participants"] = participants.size();
    j["merge_participants"] = participants;
    json group = json::object();
    for (const auto& [peer, beat] : m_beats) {
        group[peer.to_base58()] = {{"policy", beat.policy},
                                   {"round", beat.round},
                                   {"reward", beat.reward},
                                   {"committed", beat.commitment.has_value()}};
    }
    j["sapo_peers"] = group;
}

void SapoNode::update_metrics() {
    if (!m_engine) return;
    m_metrics.gauge("swarmd_round", "Rounds completed by this node")
        .set(static_cast<double>(m_progress.round));
    m_metrics.gauge("swarmd_loss", "Last training loss").set(m_progress.loss);
    m_metrics.gauge("swarmd_sapo_reward", "Mean reward of the last round's local rollouts")
        .set(m_progress.reward);
    m_metrics.gauge("swarmd_sapo_reward_recent", "Mean local reward over the last 10 rounds")
        .set(m_progress.recent_reward);
    m_metrics.gauge("swarmd_sapo_cumulative_reward", "Sum of the per-round mean local rewards")
        .set(m_progress.cumulative_reward);
    m_metrics.counter("swarmd_sapo_rollouts_total", "Local rollouts generated")
        .set(m_progress.rollouts);
    m_metrics
        .counter("swarmd_sapo_external_groups_used_total", "External rollout groups trained on")
        .set(m_progress.external_used);
    m_metrics.gauge("swarmd_accuracy", "Held-out accuracy (-1 when not a classifier)")
        .set(m_merged ? m_merged->accuracy : -1.0);
    m_metrics.gauge("swarmd_merged", "1 once the final merge is written")
        .set(m_merge && m_merge->state() == "merged" ? 1 : 0);
}

}  // namespace swarmd::node
