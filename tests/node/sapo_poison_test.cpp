// SAPO merge poisoning: eight policies trained together in the in-process swarm, one of them
// replaced by a malicious peer's weights (within check_weights' range, so they reach the merge).
// The plain mean is ruined by it; the default rule (filtered_mean) keeps the merged model's
// greedy accuracy within one point of what the seven honest nodes merge to without it.
// torch first: its glog CHECK macro would otherwise replace Catch's (a failure would abort).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <numeric>

#include "node/sapo/merge.hpp"
#include "rl/policy.hpp"
#include "rl/swarm.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

struct Threads {
    Threads() { torch::set_num_threads(1); }
} const kThreads;

constexpr int kNodes = 8;
constexpr int kEvalPerEntry = 512;  // 4 families: 2048 greedy answers

rl::PolicyOptions tiny() { return rl::PolicyOptions{}.d_model(32).layers(1).heads(2).max_len(32); }

rl::Policy warmed(const rl::TaskMix& mix, std::uint64_t seed) {
    torch::manual_seed(seed);
    rl::Policy p(tiny());
    rl::WarmupOptions w;
    w.steps = 2000;
    w.batch = 32;
    w.mix = mix;
    w.noise.fill(0.3);
    rl::Rng rng(seed);
    rl::warmup(p, w, rng);
    return p;
}

double accuracy(const rl::Policy& shape, const std::vector<float>& weights,
                const rl::TaskMix& mix) {
    rl::Policy p = rl::clone_policy(shape);
    REQUIRE(rl::load_parameters(p, weights));
    const auto per_entry = rl::greedy_accuracy(p, mix, kEvalPerEntry, 4242);
    return 100.0 * std::accumulate(per_entry.begin(), per_entry.end(), 0.0) / per_entry.size();
}

crypto::PeerId peer(int i) {
    return crypto::PeerId::from_public_key(
        crypto::PrivateKey::from_seed(Bytes(32, static_cast<std::uint8_t>(i + 1))).public_key());
}

}  // namespace

TEST_CASE("one poisoned peer of eight moves the merged model by less than one point",
          "[merge][poison]") {
    const rl::TaskMix mix = rl::TaskMix::all_families(0);
    const rl::Policy base = warmed(mix, 7);
    rl::InMemorySwarm swarm;
    for (int i = 0; i < kNodes; ++i) {
        rl::NodeOptions o;
        o.group_size = 4;
        o.lr = 1e-3;  // the spec's default
        o.sampler.local = 2;
        o.sampler.external = 4;
        o.mix = mix;
        swarm.add(std::make_unique<rl::SwarmNode>("n" + std::to_string(i), base, o,
                                                  rl::mix_seed({99, std::uint64_t(i)})));
    }
    for (std::uint64_t r = 0; r < 20; ++r) swarm.run_round(r);

    const auto base_weights = rl::flatten_parameters(base);
    std::vector<MergeInput> honest;
    for (int i = 0; i < kNodes; ++i) {
        auto w = std::make_shared<const std::vector<float>>(
            rl::flatten_parameters(swarm.nodes()[i]->policy()));
        honest.push_back({peer(i), weights_hash("tiny", *w), w});
    }
    auto spec_of = [](MergeRule rule) {
        MergeSpec spec;
        spec.rule = rule;
        return spec;
    };
    const MergeSpec filtered = spec_of(MergeRule::filtered_mean);  // the default
    const MergeSpec trimmed = spec_of(MergeRule::trimmed_mean);
    const MergeSpec mean = spec_of(MergeRule::mean);
    const auto honest_merge = merge_weights(honest, filtered);
    CHECK(honest_merge.outliers.empty());  // no honest node is taken for an outlier
    const double honest_mean = accuracy(base, merge_weights(honest, mean).weights, mix);
    const double honest_filtered = accuracy(base, honest_merge.weights, mix);
    CHECK(honest_filtered == honest_mean);

    // The malicious peer takes node 5's place. Its influence is what it changes against the
    // merge of the seven honest nodes alone (what the swarm gets if it stays away).
    constexpr int kMalicious = 5;
    auto seven = honest;
    seven.erase(seven.begin() + kMalicious);
    const double seven_filtered = accuracy(base, merge_weights(seven, filtered).weights, mix);
    const double seven_trimmed = accuracy(base, merge_weights(seven, trimmed).weights, mix);
    std::printf(
        "merge poisoning: base %.1f%%, 8 honest merged %.1f%%, 7 honest merged %.1f%% "
        "(trimmed mean %.1f%%)\n",
        accuracy(base, base_weights, mix), honest_mean, seven_filtered, seven_trimmed);

    // Poisons that pass check_weights (finite, |w| <= max_abs): the largest values allowed, a
    // peer that pushes against the swarm's progress (its update negated and scaled), and
    // noise of the weights' own size.
    const auto& reference = *honest[0].weights;
    std::vector<std::pair<const char*, std::vector<float>>> poisons;
    {
        std::vector<float> extreme(reference.size());
        for (std::size_t i = 0; i < extreme.size(); ++i)
            extreme[i] = (i % 2 ? -1.0f : 1.0f) * MergeCoordinatorOptions::kDefaultMaxAbs;
        poisons.emplace_back("extreme values", std::move(extreme));
        std::vector<float> reversed(reference.size());
        for (std::size_t i = 0; i < reversed.size(); ++i)
            reversed[i] = base_weights[i] - 50.0f * (reference[i] - base_weights[i]);
        poisons.emplace_back("update reversed x50", std::move(reversed));
        rl::Rng rng(5);
        std::vector<float> noise(reference.size());
        for (std::size_t i = 0; i < noise.size(); ++i)
            noise[i] = reference[i] + 8.0f * (static_cast<float>(rng.uniform()) - 0.5f);
        poisons.emplace_back("noise", std::move(noise));
    }
    for (auto& [name, values] : poisons) {
        REQUIRE(check_weights(values, values.size(), MergeCoordinatorOptions::kDefaultMaxAbs) ==
                WeightsVerdict::accepted);
        auto inputs = honest;
        auto w = std::make_shared<const std::vector<float>>(values);
        inputs[kMalicious] = {inputs[kMalicious].peer, weights_hash("tiny", *w), w};
        const auto poisoned = merge_weights(inputs, filtered);
        const double with_filtered = accuracy(base, poisoned.weights, mix);
        const double with_trimmed = accuracy(base, merge_weights(inputs, trimmed).weights, mix);
        const double with_mean = accuracy(base, merge_weights(inputs, mean).weights, mix);
        std::printf(
            "merge poisoning (%s, 1 of %d): filtered mean %.1f%%, trimmed mean %.1f%%, "
            "mean %.1f%%\n",
            name, kNodes, with_filtered, with_trimmed, with_mean);
        INFO(name << ": filtered mean " << with_filtered << "%, trimmed mean " << with_trimmed
                  << "%, mean " << with_mean << "%; seven honest alone " << seven_filtered << "%");
        CHECK(poisoned.outliers == std::vector<std::size_t>{kMalicious});
        CHECK(std::abs(with_filtered - seven_filtered) < 1.0);
        CHECK(with_mean < honest_mean - 10.0);
    }
}
