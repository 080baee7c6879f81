#include "node/sapo/engine.hpp"

#include <cmath>
#include <numeric>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/endian.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "rl/policy.hpp"
#include "rl/swarm.hpp"
#include "training/models.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kRecentRounds = 10;
constexpr std::size_t kMaxStateFile = 4096;
constexpr std::uint64_t kBaseSeedTag = 0x62617365;  // "base"

std::uint64_t name_word(std::string_view s) {
    const auto d = crypto::sha256(as_bytes(s));
    return load_be<std::uint64_t>(d.data());
}

rl::TaskMix task_mix(const SapoSpec& sapo) {
    rl::TaskMix mix;
    for (const auto& name : sapo.families) {
        const auto family = rl::parse_family(name).value();  // the spec parser checked the names
        for (auto level = sapo.level_min; level <= sapo.level_max; ++level) {
            mix.entries.emplace_back(family, static_cast<std::uint8_t>(level));
        }
    }
    return mix;
}

rl::PolicyOptions policy_options(const TransformerShape& s) {
    return rl::PolicyOptions{}.d_model(s.d_model).layers(s.layers).heads(s.heads).max_len(
        s.max_len);
}

bool same_shape(const rl::Policy& p, const TransformerShape& s) {
    const auto& o = p->options();
    return o.d_model() == s.d_model && o.layers() == s.layers && o.heads() == s.heads &&
           o.max_len() == s.max_len;
}

// save_policy writes atomically and durably.
void save_atomically(const rl::Policy& policy, const std::filesystem::path& path) {
    if (auto saved = rl::save_policy(policy, path); !saved)
        category_log("rl")->error("cannot write {}: {}", path.string(), saved.error().message());
}

}  // namespace

std::uint64_t SapoEngine::shape_parameters() const {
    if (m_shape_parameters == 0) {
        torch::NoGradGuard no_grad;
        m_shape_parameters = static_cast<std::uint64_t>(
            rl::Policy(policy_options(m_policy_spec.shape))->parameter_count());
    }
    return m_shape_parameters;
}

const PolicySpec& choose_policy(const Spec& spec, const std::string& name) {
    const auto& policies = spec.sapo.policies;
    if (policies.empty()) throw std::runtime_error("the spec lists no [[sapo.policies]]");
    if (name.empty()) return policies.front();
    std::string names;
    for (const auto& p : policies) {
        if (p.name == name) return p;
        names += (names.empty() ? "" : ", ") + p.name;
    }
    throw std::runtime_error("policy \"" + name + "\" is not in the spec (it lists: " + names +
                             ")");
}

SapoEngine::SapoEngine(const Spec& spec, const PolicySpec& policy, std::string author,
                       SapoEngineOptions options, asio::io_context& io, PublishHandler publish,
                       ProgressHandler progress, CommitHandler commit)
    : m_spec(spec),
      m_policy_spec(policy),
      m_author(std::move(author)),
      m_options(std::move(options)),
      m_io(io),
      m_publish(std::move(publish)),
      m_on_progress(std::move(progress)),
      m_on_commit(std::move(commit)),
      m_merge_round(static_cast<std::uint64_t>(spec.merge_round)),
      m_timer(m_compute) {
    std::filesystem::create_directories(m_options.dir);
    m_progress.merge_round = m_merge_round;
}

SapoEngine::~SapoEngine() { stop(); }

std::filesystem::path SapoEngine::base_path() const {
    return m_options.dir / ("base-" + m_policy_spec.name + ".pt");
}

bool SapoEngine::has_cached_base() const {
    std::error_code ec;
    return std::filesystem::is_regular_file(base_path(), ec);
}

void SapoEngine::start(SharedWeights fetched) {
    m_worker.start([] { training::set_compute_threads(1); });
    asio::post(m_compute, [this, fetched = std::move(fetched)] {
        try {
            prepare(fetched);
        } catch (const std::exception& e) {
            if (m_abort) {
                category_log("rl")->info("base policy not made: {}", e.what());
                return;
            }
            category_log("rl")->error("cannot prepare the policy: {}", e.what());
            return;
        }
        m_ready = true;
        if (m_begun) step();
    });
}

void SapoEngine::begin() {
    asio::post(m_compute, [this] {
        if (m_begun) return;
        m_begun = true;
        if (m_ready) step();
    });
}

void SapoEngine::stop() {
    if (!m_worker.running()) return;
    m_abort = true;  // the warm-up checks it between steps: stopping never waits for all of it
    m_worker.stop([this] {
        m_stopping = true;
        m_timer.cancel();
        if (m_node && !m_committed) save_state();
    });
}

void SapoEngine::request_merge(std::uint64_t round) {
    asio::post(m_compute, [this, round] {
        if (m_stopping || m_committed || round == 0 || round >= m_merge_round) return;
        category_log("merge")->info("merge round lowered to {} (was {})", round,
                                    m_merge_round.load());
        m_merge_round = round;
        m_progress.merge_round = round;
        report();
    });
}

void SapoEngine::receive(rl::CheckedBatch batch) {
    asio::post(m_compute, [this, b = std::move(batch)]() mutable {
        if (m_node && !m_stopping) m_node->receive(std::move(b));
    });
}

void SapoEngine::prepare(SharedWeights fetched) {
    const auto log = category_log("rl");
    const auto& sapo = m_spec.sapo;
    const auto& name = m_policy_spec.name;

    // The base policy: the same for every node of an architecture (seeded by the spec and the
    // name), made once and cached, so a restart does not redo the warm-up.
    const auto base_path = this->base_path();
    std::optional<rl::Policy> base;
    if (fetched) {
        // Verified against the hash its holders announced before it got here.
        base = rl::Policy(policy_options(m_policy_spec.shape));
        if (rl::load_parameters(*base, *fetched)) {
            m_progress.base_source = "fetched";
            save_atomically(*base, base_path);
        } else {
            log->warn("the fetched base policy {} has {} values, not {}: making it here", name,
                      fetched->size(), (*base)->parameter_count());
            base.reset();
        }
    }
    if (!base) {
        if (auto loaded = rl::load_policy(base_path);
            loaded && same_shape(loaded.value(), m_policy_spec.shape)) {
            base = loaded.value();
            m_progress.base_source = "cached";
            log->info("base policy {} loaded from {}", name, base_path.string());
        } else {
            const auto seed = rl::mix_seed(
                {static_cast<std::uint64_t>(m_spec.seed), name_word(name), kBaseSeedTag});
            torch::manual_seed(seed);
            base = rl::Policy(policy_options(m_policy_spec.shape));
            rl::WarmupOptions w;
            w.steps = static_cast<int>(m_policy_spec.warmup_steps);
            w.mix = task_mix(sapo);
            w.cancelled = [this] { return m_abort.load(); };
            rl::Rng rng(seed);
            const auto started = std::chrono::steady_clock::now();
            log->info("base policy {}: {} parameters, supervised warm-up of {} steps", name,
                      (*base)->parameter_count(), w.steps);
            const auto losses = rl::warmup(*base, w, rng);
            // An interrupted warm-up is not the base policy: nothing of it is cached.
            if (m_abort) throw std::runtime_error("the node is stopping (warm-up interrupted)");
            m_progress.base_source = "built";
            log->info(
                "base policy {} ready in {:.1f} s (loss {:.3f} -> {:.3f})", name,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                losses.empty() ? 0.0f : losses.front(), losses.empty() ? 0.0f : losses.back());
            save_atomically(*base, base_path);
        }
    }
    auto base_weights = std::make_shared<const std::vector<float>>(rl::flatten_parameters(*base));
    m_progress.base_hash = hex_encode(weights_hash(name, *base_weights));
    m_progress.parameters = base_weights->size();
    m_parameters = base_weights->size();
    m_progress.base = std::move(base_weights);

    rl::NodeOptions o;
    o.group_size = static_cast<std::size_t>(sapo.completions);
    o.lr = sapo.lr;
    o.sampler.local = static_cast<std::size_t>(sapo.local);
    o.sampler.external = static_cast<std::size_t>(sapo.external);
    o.sample.temperature = static_cast<float>(sapo.temperature);
    o.sample.max_new_tokens = static_cast<int>(sapo.max_tokens);
    o.grpo.temperature = static_cast<float>(sapo.temperature);
    o.pool.round_window = static_cast<std::uint64_t>(sapo.staleness);
    o.pool.future_window = static_cast<std::uint64_t>(sapo.staleness);
    o.mix = task_mix(sapo);
    o.consume_external = true;
    const auto node_seed =
        rl::mix_seed({static_cast<std::uint64_t>(m_spec.seed), name_word(m_author)});
    m_node = std::make_unique<rl::SwarmNode>(m_author, *base, o, node_seed);

    // Resume the policy a previous run of this node saved (same architecture only).
    Bytes state_bytes;
    if (!read_file(m_options.dir / "state.json", state_bytes, kMaxStateFile)) {
        auto j = nlohmann::json::parse(state_bytes.begin(), state_bytes.end(), nullptr, false);
        auto saved = rl::load_policy(m_options.dir / "policy.pt");
        if (j.is_object() && j.value("policy", "") == name && j["round"].is_number_unsigned() &&
            saved && same_shape(saved.value(), m_policy_spec.shape)) {
            rl::load_parameters(m_node->policy(), rl::flatten_parameters(saved.value()));
            const auto round = j["round"].get<std::uint64_t>();
            m_round = round + 1;
            m_progress.round = round;
            log->info("resumed policy {} at round {}", name, round);
        }
    }
    m_progress.phase = "ready";
    report();
}

void SapoEngine::schedule_step(std::chrono::milliseconds delay) {
    m_timer.expires_after(delay);
    m_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec && !m_stopping) step();
    });
}

void SapoEngine::step() {
    if (m_stopping || m_committed) return;
    const auto floor = m_floor.load();
    if (!m_stepped) {
        // A late joiner starts in the swarm's round window, at its slowest active node, not at
        // round 1: the others would pace themselves down to it, and its rollouts would be stale
        // to all of them.
        m_stepped = true;
        if (floor > 0 && static_cast<std::uint64_t>(floor) > m_round) {
            category_log("train")->info("joining the swarm at round {}", floor);
            m_round = static_cast<std::uint64_t>(floor);
        }
        m_progress.start_round = m_round;
    }
    const auto r = m_round.load();
    if (r > m_merge_round) {
        commit();
        return;
    }
    // Self-pacing, not a barrier: wait only while ahead of the slowest recently active author
    // by more than half the staleness window, so that our rollouts stay usable to it.
    const auto lead =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(m_spec.sapo.staleness) / 2);
    if (floor >= 0 && r > static_cast<std::uint64_t>(floor) + lead) {
        schedule_step(SapoEngineOptions::kPacingRecheck);
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    m_progress.phase = "training";
    auto batch = m_node->generate(r);
    asio::post(m_io, [publish = m_publish, r, b = std::move(batch)]() mutable {
        publish(r, std::move(b));
    });
    const auto stats = m_node->train(r);

    const double reward =
        stats.local_rollouts ? stats.local_reward / static_cast<double>(stats.local_rollouts) : 0.0;
    m_progress.round = r;
    m_progress.reward = reward;
    m_recent.push_back(reward);
    if (m_recent.size() > kRecentRounds) m_recent.erase(m_recent.begin());
    m_progress.recent_reward =
        std::accumulate(m_recent.begin(), m_recent.end(), 0.0) / m_recent.size();
    m_progress.cumulative_reward += reward;
    m_progress.loss = stats.grpo.loss;
    m_progress.rollouts += stats.local_rollouts;
    m_progress.external_used += stats.external_used;
    m_progress.external_last = stats.external_used;
    m_progress.groups_trained += stats.grpo.groups_used;
    m_progress.pool = m_node->pool().stats();
    m_round = r + 1;
    if (r % m_options.checkpoint_every == 0) save_state();
    report();
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    schedule_step(std::max(std::chrono::milliseconds(0), m_options.round_interval - spent));
}

void SapoEngine::commit() {
    m_committed = true;
    save_state();
    auto weights =
        std::make_shared<const std::vector<float>>(rl::flatten_parameters(m_node->policy()));
    category_log("merge")->info(
        "round {} reached: committing policy {} ({})", m_merge_round.load(), m_policy_spec.name,
        hex_encode(weights_hash(m_policy_spec.name, *weights)).substr(0, 16));
    m_progress.phase = "committed";
    report();
    asio::post(m_io, [handler = m_on_commit, w = std::move(weights)] { handler(w); });
}

void SapoEngine::merge(std::vector<MergeInput> inputs, MergedHandler done) {
    asio::post(m_compute, [this, inputs = std::move(inputs), done = std::move(done)]() mutable {
        if (m_stopping || !m_node) return;
        SapoMergeOutcome outcome;
        for (const auto& i : inputs) outcome.participants.push_back(i.peer);
        std::sort(outcome.participants.begin(), outcome.participants.end());
        nlohmann::json participants = nlohmann::json::array();
        for (auto& i : inputs) {
            participants.push_back({{"peer_id", i.peer.to_base58()}, {"hash", hex_encode(i.hash)}});
        }
        auto result = merge_weights(inputs, m_spec.sapo.merge);
        const auto& merged = result.weights;
        nlohmann::json outliers = nlohmann::json::array();
        for (const auto j : result.outliers) {
            outcome.outliers.push_back(inputs[j].peer);
            outliers.push_back(inputs[j].peer.to_base58());
            category_log("merge")->warn(
                "left out of the merge: weights {} of peer={} lie far from the group's median",
                hex_encode(inputs[j].hash).substr(0, 16), inputs[j].peer.to_base58());
        }
        outcome.hash = weights_hash(m_policy_spec.name, merged);

        rl::Policy policy = rl::clone_policy(m_node->policy());
        rl::load_parameters(policy, merged);
        const auto accuracy =
            rl::greedy_accuracy(policy, task_mix(m_spec.sapo), SapoEngineOptions::kEvalPerEntry,
                                static_cast<std::uint64_t>(m_spec.seed));
        outcome.accuracy =
            accuracy.empty()
                ? 0.0
                : std::accumulate(accuracy.begin(), accuracy.end(), 0.0) / accuracy.size();

        const auto final_dir = m_options.dir.parent_path() / "final";
        std::filesystem::create_directories(final_dir);
        save_atomically(policy, final_dir / "model.pt");
        nlohmann::json manifest = {
            {"mode", "sapo"},
            {"policy", m_policy_spec.name},
            {"merge_round", m_merge_round.load()},
            {"parameters", merged.size()},
            {"participants", participants},
            {"merge_rule", merge_rule_name(m_spec.sapo.merge.rule)},
            {"outliers", outliers},
            {"merged_hash", hex_encode(outcome.hash)},
            {"greedy_accuracy", outcome.accuracy},
        };
        const auto text = manifest.dump(2) + "\n";
        if (auto ec = write_file_atomic(final_dir / "manifest.json", as_bytes(text), 0644)) {
            category_log("merge")->error("cannot write the merge manifest: {}", ec.message());
        }
        category_log("merge")->info(
            "merged policy {} from {} nodes: hash {} greedy accuracy {:.3f}", m_policy_spec.name,
            outcome.participants.size(), hex_encode(outcome.hash).substr(0, 16), outcome.accuracy);
        asio::post(m_io, [done = std::move(done), o = std::move(outcome)]() mutable {
            done(std::move(o));
        });
    });
}

void SapoEngine::save_state() {
    save_atomically(m_node->policy(), m_options.dir / "policy.pt");
    const nlohmann::json state = {{"policy", m_policy_spec.name}, {"round", m_progress.round}};
    const auto text = state.dump() + "\n";
    if (auto ec = write_file_atomic(m_options.dir / "state.json", as_bytes(text), 0644)) {
        category_log("rl")->error("cannot write the SAPO state: {}", ec.message());
    }
}

void SapoEngine::report() {
    asio::post(m_io, [handler = m_on_progress, p = m_progress] { handler(p); });
}

}  // namespace swarmd::node
