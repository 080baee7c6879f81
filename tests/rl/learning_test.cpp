// Policies, warm-up, GRPO and the in-process swarm, on tiny models with fixed seeds.
// torch first: its glog CHECK macro would otherwise replace Catch's (a failure would abort).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rl/error.hpp"
#include "rl/grpo.hpp"
#include "rl/policy.hpp"
#include "rl/swarm.hpp"

using namespace swarmd;
using namespace swarmd::rl;

namespace {

PolicyOptions tiny() { return PolicyOptions{}.d_model(32).layers(1).heads(2).max_len(32); }

struct Threads {
    Threads() { torch::set_num_threads(1); }
} const kThreads;

// A base policy warmed up briefly on one family, so GRPO has something to sharpen.
Policy warmed(const TaskMix& mix, int steps, std::uint64_t seed, double noise = 0.5) {
    torch::manual_seed(seed);
    Policy p(tiny());
    WarmupOptions w;
    w.steps = steps;
    w.batch = 32;
    w.mix = mix;
    w.noise.fill(noise);
    Rng rng(seed);
    warmup(p, w, rng);
    return p;
}

float max_abs_diff(Policy& a, Policy& b) {
    float m = 0.0f;
    auto pb = b->named_parameters();
    for (const auto& p : a->named_parameters()) {
        m = std::max(m, (p.value() - pb[p.key()]).abs().max().item<float>());
    }
    return m;
}

}  // namespace

TEST_CASE("group advantages are relative, and zero-variance groups carry none", "[rl][grpo]") {
    CHECK(group_advantages({1, 1, 1, 1}, true).empty());
    CHECK(group_advantages({0, 0}, false).empty());
    const auto a = group_advantages({1, 0, 0, 0}, false);
    REQUIRE(a.size() == 4);
    CHECK(a[0] == Approx(0.75));
    CHECK(a[1] == Approx(-0.25));
    const auto n = group_advantages({1, 0, 1, 0}, true);
    CHECK(n[0] == Approx(0.5 / std::sqrt(1.0 / 3.0)).epsilon(1e-3));
}

TEST_CASE("KV-cached sampling matches a full forward pass", "[rl][policy]") {
    torch::manual_seed(1);
    Policy policy(tiny());
    std::vector<Tokens> prompts;
    for (std::uint64_t s = 0; s < 6; ++s) {
        prompts.push_back(prompt_tokens(generate({kAllFamilies[s], 1, s}).value().prompt));
    }
    Rng rng(2);
    SampleOptions o;
    o.max_new_tokens = 6;
    const auto samples = sample(policy, prompts, o, rng);
    std::vector<Tokens> completions;
    for (const auto& s : samples) {
        REQUIRE(!s.tokens.empty());
        REQUIRE(s.tokens.size() == s.logprobs.size());
        for (Token t : s.tokens) CHECK((t == kEosToken || t >= 3));
        completions.push_back(s.tokens);
    }
    torch::NoGradGuard guard;
    auto [lp, mask] = completion_logprobs(policy, prompts, completions, 1.0f);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        for (std::size_t j = 0; j < samples[i].logprobs.size(); ++j) {
            CHECK(lp[i][j].item<float>() == Approx(samples[i].logprobs[j]).margin(1e-4));
        }
    }
    // Same RNG seed, same completions.
    Rng again(2);
    const auto replay = sample(policy, prompts, o, again);
    for (std::size_t i = 0; i < samples.size(); ++i) CHECK(replay[i].tokens == samples[i].tokens);
}

TEST_CASE("supervised warm-up lowers the loss", "[rl][policy]") {
    torch::manual_seed(3);
    Policy policy(tiny());
    WarmupOptions w;
    w.steps = 60;
    w.batch = 32;
    w.mix = TaskMix::all_families(0);
    Rng rng(4);
    const auto losses = warmup(policy, w, rng);
    const float first = (losses[0] + losses[1] + losses[2]) / 3;
    const float last = (losses[57] + losses[58] + losses[59]) / 3;
    CHECK(last < 0.7f * first);
}

TEST_CASE("a policy checkpoint round-trips and a bad one is an error", "[rl][policy]") {
    torch::manual_seed(5);
    Policy policy(PolicyOptions{}.d_model(24).layers(2).heads(3).max_len(30));
    const auto dir = std::filesystem::path(SWARMD_BINARY_DIR) / "rl_test_tmp";
    std::filesystem::create_directories(dir);
    const auto path = dir / "policy.pt";
    REQUIRE(save_policy(policy, path).has_value());
    Policy loaded = load_policy(path).value();
    CHECK(loaded->options().d_model() == 24);
    CHECK(loaded->options().heads() == 3);
    CHECK(max_abs_diff(policy, loaded) == 0.0f);
    CHECK(load_policy(dir / "missing.pt").error() == Errc::checkpoint_io);
    std::ofstream(dir / "junk.pt") << "not a checkpoint";
    CHECK(load_policy(dir / "junk.pt").has_error());
}

TEST_CASE("GRPO on one easy task raises the reward", "[rl][grpo]") {
    const TaskMix mix = TaskMix::one_family(Family::count, 0);
    Policy base = warmed(mix, 40, 11);
    Rng eval_rng(12);
    const float before = sampled_reward(base, mix, 256, 99, 1.0f, eval_rng);

    NodeOptions o;
    o.lr = 3e-3;
    o.sampler.local = 8;
    o.sampler.external = 0;
    o.mix = mix;
    SwarmNode node("solo", base, o, 13);
    std::size_t used = 0;
    for (std::uint64_t round = 0; round < 30; ++round) {
        node.generate(round);
        used += node.train(round).grpo.groups_used;
    }
    const float after = sampled_reward(node.policy(), mix, 256, 99, 1.0f, eval_rng);
    INFO("sampled reward " << before << " -> " << after << ", groups with signal " << used);
    CHECK(used > 0);
    CHECK(after > before + 0.1f);
}

namespace {

InMemorySwarm make_swarm(const Policy& base, int n, std::size_t local, std::size_t external,
                         Correction correction, std::uint64_t seed) {
    InMemorySwarm swarm;
    for (int i = 0; i < n; ++i) {
        NodeOptions o;
        o.group_size = 4;
        o.sampler.local = local;
        o.sampler.external = external;
        o.sampler.selection = Selection::uniform;
        o.grpo.correction = correction;
        o.pool.round_window = 0;
        o.mix = TaskMix::all_families(0);
        swarm.add(std::make_unique<SwarmNode>("n" + std::to_string(i), base, o,
                                              mix_seed({seed, std::uint64_t(i)})));
    }
    return swarm;
}

}  // namespace

TEST_CASE("rollouts flow through the in-memory swarm and are re-verified", "[rl][swarm]") {
    Policy base = warmed(TaskMix::all_families(0), 20, 21);
    InMemorySwarm swarm = make_swarm(base, 4, 2, 3, Correction::token, 22);
    for (std::uint64_t r = 0; r < 2; ++r) {
        const auto stats = swarm.run_round(r);
        for (const auto& s : stats) {
            CHECK(s.local_rollouts == 2 * 4);
            CHECK(s.external_offered == 3 * 2);  // the other three nodes' groups of this round
            CHECK(s.external_used == 3);
            CHECK(s.grpo.groups_used + s.grpo.groups_dropped == 2 + 3);
        }
    }
    for (auto& node : swarm.nodes()) {
        CHECK(node->pool().stats().accepted == 2 * 3 * 2);
        CHECK(node->pool().stats().own == 2);
        CHECK(node->pool().stats().lied == 0);
        for (const auto& g : node->pool().groups()) {
            const Problem p = generate(g.group.task).value();
            for (std::size_t i = 0; i < g.rewards.size(); ++i) {
                CHECK(g.rewards[i] == verify(p, decode_text(g.group.completions[i].tokens)));
            }
        }
    }
}

TEST_CASE("when J covers every external group, all nodes stay identical", "[rl][swarm]") {
    Policy base = warmed(TaskMix::all_families(0), 20, 31);
    InMemorySwarm swarm = make_swarm(base, 4, 2, 6, Correction::none, 32);
    for (std::uint64_t r = 0; r < 3; ++r) swarm.run_round(r);
    auto& nodes = swarm.nodes();
    CHECK(max_abs_diff(nodes[0]->policy(), base) > 0.0f);  // they did learn something
    for (std::size_t i = 1; i < nodes.size(); ++i) {
        CHECK(max_abs_diff(nodes[0]->policy(), nodes[i]->policy()) == 0.0f);
    }
}

TEST_CASE("a lying sender cannot move other nodes beyond the bound", "[rl][swarm]") {
    Policy base = warmed(TaskMix::all_families(0), 20, 41);
    auto run_one_round = [&](std::function<void(std::size_t, Bytes&)> tamper) {
        InMemorySwarm swarm = make_swarm(base, 3, 4, 8, Correction::token, 42);
        swarm.tamper = std::move(tamper);
        auto stats = swarm.run_round(0);
        return std::make_pair(std::move(swarm), std::move(stats));
    };
    auto [honest, honest_stats] = run_one_round(nullptr);

    // Node 2 claims its completions were near-impossible for it (log-prob -30 per token), which
    // would give importance weights of e^30 without truncation.
    auto [lied_lp, lied_lp_stats] = run_one_round([](std::size_t i, Bytes& bytes) {
        if (i != 2) return;
        RolloutBatch b = decode_batch(bytes).value();
        for (auto& g : b.groups) {
            for (auto& c : g.completions) c.logprobs.assign(c.tokens.size(), -30.0f);
        }
        bytes = encode_batch(b);
    });
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(lied_lp_stats[i].grpo.max_weight <= GrpoOptions::kDefaultRhoMax);
        // With the weight capped at 1 and honest ratios already ~1, the lie changes nothing.
        auto& a = honest.nodes()[i]->policy();
        auto& b = lied_lp.nodes()[i]->policy();
        CHECK(max_abs_diff(a, b) < 1e-4f);
        CHECK(max_abs_diff(a, base) > 1e-4f);
    }

    // Node 2 claims every completion succeeded: receivers recompute and drop its groups.
    auto [lied_r, lied_r_stats] = run_one_round([](std::size_t i, Bytes& bytes) {
        if (i != 2) return;
        RolloutBatch b = decode_batch(bytes).value();
        for (auto& g : b.groups) {
            for (auto& c : g.completions) c.claimed_reward = 1.0f;
        }
        bytes = encode_batch(b);
    });
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& st = lied_r.nodes()[i]->pool().stats();
        CHECK(st.lied > 0);
        CHECK(lied_r_stats[i].external_offered == 4 + (4 - st.lied));
    }
}

TEST_CASE("nodes of different sizes share rollouts (heterogeneous swarm)", "[rl][swarm]") {
    torch::manual_seed(51);
    Policy small(PolicyOptions{}.d_model(16).layers(1).heads(2).max_len(32));
    Policy large(PolicyOptions{}.d_model(48).layers(2).heads(4).max_len(40));
    InMemorySwarm swarm;
    for (int i = 0; i < 2; ++i) {
        NodeOptions o;
        o.group_size = 4;
        o.sampler.local = 2;
        o.sampler.external = 2;
        o.pool.round_window = 0;
        o.mix = TaskMix::all_families(0);
        swarm.add(std::make_unique<SwarmNode>("h" + std::to_string(i), i == 0 ? small : large, o,
                                              std::uint64_t(60 + i)));
    }
    const auto stats = swarm.run_round(0);
    for (const auto& s : stats) {
        CHECK(s.external_used == 2);
        CHECK(s.grpo.completions == (s.grpo.groups_used) * 4);
    }
    CHECK(swarm.nodes()[0]->policy()->parameter_count() <
          swarm.nodes()[1]->policy()->parameter_count());
}

TEST_CASE("external advantages scale by external_scale, zero leaves the local step", "[rl][grpo]") {
    torch::manual_seed(61);
    Policy base(tiny());
    // Two groups on different tasks: one local, one from another node.
    auto make_group = [](const TaskId& task, bool external) {
        const Problem p = generate(task).value();
        ScoredGroup g;
        g.author = external ? "other" : "self";
        g.prompt = p.prompt;
        g.group.task = task;
        g.external = external;
        for (const std::string& text : {p.answer, p.answer + "1", p.answer, std::string("0")}) {
            Rollout r;
            r.tokens = encode_text(text).value();
            r.tokens.push_back(kEosToken);
            r.logprobs.assign(r.tokens.size(), -1.0f);
            g.rewards.push_back(verify(p, text));
            g.group.completions.push_back(std::move(r));
        }
        return g;
    };
    const ScoredGroup local = make_group({Family::add, 0, 1}, false);
    const ScoredGroup external = make_group({Family::sort, 1, 2}, true);
    // Plain SGD without clipping, so a step is exactly lr times the gradient of the loss.
    auto step = [&](const std::vector<const ScoredGroup*>& groups, float scale) {
        Policy p = clone_policy(base);
        torch::optim::SGD sgd(p->parameters(), torch::optim::SGDOptions(0.1));
        GrpoOptions o;
        o.external_scale = scale;
        o.correction = Correction::none;
        o.max_grad_norm = 1e30;
        CHECK(grpo_step(p, sgd, groups, o).stepped);
        return p;
    };
    // delta(policy) - factor * delta(reference), largest element.
    auto off = [&](Policy& a, Policy& ref, float factor) {
        float m = 0.0f;
        auto pr = ref->named_parameters();
        auto pb = base->named_parameters();
        for (const auto& p : a->named_parameters()) {
            const auto da = p.value() - pb[p.key()];
            const auto dr = pr[p.key()] - pb[p.key()];
            m = std::max(m, (da - factor * dr).abs().max().item<float>());
        }
        return m;
    };
    Policy local_only = step({&local}, 1.0f);
    Policy scaled_out = step({&local, &external}, 0.0f);
    Policy both = step({&local, &external}, 1.0f);
    Policy halved = step({&local, &external}, 0.5f);
    CHECK(max_abs_diff(local_only, base) > 1e-4f);
    // The loss averages over all 8 completions: with the external group at zero advantage the
    // step is exactly half the local-only step.
    CHECK(off(scaled_out, local_only, 0.5f) < 1e-6f);
    CHECK(off(both, local_only, 0.5f) > 1e-4f);
    // Linear in the scale: halved is the midpoint of scaled-out and full.
    Policy mid = clone_policy(base);
    {
        torch::NoGradGuard guard;
        auto ps = scaled_out->named_parameters();
        auto pf = both->named_parameters();
        for (auto& p : mid->named_parameters()) p.value().copy_((ps[p.key()] + pf[p.key()]) / 2);
    }
    CHECK(max_abs_diff(halved, mid) < 1e-6f);
    CHECK(max_abs_diff(halved, both) > 1e-5f);
}
