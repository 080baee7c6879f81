// bench-deps: swarmd_training
// Quality on digits (MLP 64-H-10, batch 64, Rademacher z, eps 1e-3, 80/20 split):
//  1. one-byte ZO vs fp32-gradient ZO vs backprop SGD, test accuracy at equal forward passes
//     (a ZO step costs two forward passes, a backprop step is counted as one);
//  2. a synchronous swarm of 1, 4 and 8 nodes (each on its own shard, every node applies every
//     node's update each round in canonical order): rounds to reach 90% and 95% test accuracy.
// Usage: bench_zo_quality [max_rounds=6000] [lr=0.01] [hidden=128] [seed=1] [nodes=1,4,8]
//                         [swarm-only]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>

#include "bench/zo_common.hpp"
#include "training/params.hpp"
#include "training/zo.hpp"

using namespace swarmd;
using namespace swarmd::training;

namespace {

const Bytes kSwarm{0x71};

Bytes author_of(std::size_t k) { return Bytes{0x00, 0x24, static_cast<std::uint8_t>(k)}; }

std::vector<std::uint32_t> draw(std::mt19937_64& rng, const std::vector<std::uint32_t>& pool,
                                std::size_t n) {
    std::vector<std::uint32_t> b(n);
    for (auto& x : b) x = pool[rng() % pool.size()];
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    bench::single_thread();
    const int max_rounds = argc > 1 ? std::atoi(argv[1]) : 6000;
    const float lr = argc > 2 ? static_cast<float>(std::atof(argv[2])) : 1e-2f;
    const std::size_t hidden = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 128;
    const std::uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
    auto data = load_digits();
    if (!data) return 1;
    MlpOptions mo;
    mo.hidden = {hidden};
    auto task = make_digits_mlp(data.value(), mo);
    ZoOptions o;
    o.lr = lr;
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    const auto init = init_params(task->layout(), kSwarm, seed);
    std::vector<std::uint32_t> all(task->train_size());
    for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    std::printf("digits MLP 64-%zu-10 (%zu params), lr %.0e, eps %.0e, scale %.3f, seed %llu\n\n",
                hidden, init.size(), double(lr), double(o.eps), double(o.scale),
                (unsigned long long)seed);

    std::vector<std::size_t> node_counts{1, 4, 8};
    if (argc > 5) {
        node_counts.clear();
        std::stringstream ss(argv[5]);
        std::string item;
        while (std::getline(ss, item, ',')) node_counts.push_back(std::stoul(item));
    }
    const bool swarm_only = argc > 6 && std::string(argv[6]) == "swarm-only";

    // 1. One byte vs fp32 vs backprop at equal forward passes.
    if (!swarm_only) {
        auto one_byte = init, fp32 = init, bp = init;
        std::mt19937_64 rng(seed);
        const int report_every = std::max(1, max_rounds / 6);
        std::printf("%-14s %10s %10s %10s   (test accuracy)\n", "fwd passes", "one-byte", "fp32 ZO",
                    "backprop");
        std::uint32_t clipped = 0;
        for (int r = 0; r < max_rounds; ++r) {
            const auto batch = draw(rng, all, o.batch);
            const auto s = zo_step(*task, one_byte, kSwarm, author_of(0), r, batch, o);
            clipped += s.clipped;
            apply_updates(one_byte, s.updates, rule);
            const auto f = zo_step(*task, fp32, kSwarm, author_of(0), r, batch, o);
            apply_direction(fp32, kSwarm, f.updates[0], o.dist,
                            static_cast<float>(o.lr * f.projected[0]));
            // Backprop gets the same forward-pass budget: two steps per ZO step.
            task->backprop_step(bp, batch, 0.1f);
            task->backprop_step(bp, draw(rng, all, o.batch), 0.1f);
            if ((r + 1) % report_every == 0) {
                std::printf("%-14d %10.3f %10.3f %10.3f\n", 2 * (r + 1),
                            task->evaluate(one_byte).accuracy, task->evaluate(fp32).accuracy,
                            task->evaluate(bp).accuracy);
            }
        }
        std::printf("one-byte updates clipped: %u of %d\n\n", clipped, max_rounds);
    }

    // 2. Synchronous swarms.
    std::printf("%-6s %14s %14s %14s %12s\n", "nodes", "rounds to 90%", "rounds to 95%",
                "best accuracy", "at round");
    for (std::size_t n : node_counts) {
        std::vector<std::vector<std::uint32_t>> shards(n);
        for (std::uint32_t i = 0; i < all.size(); ++i) shards[i % n].push_back(i);
        std::vector<std::mt19937_64> rngs;
        for (std::size_t k = 0; k < n; ++k) rngs.emplace_back(seed * 1000 + k);
        auto theta = init;
        int r90 = -1, r95 = -1, best_round = 0;
        double best = 0.0;
        constexpr int kEvalEvery = 50;
        for (int r = 0; r < max_rounds && r95 < 0; ++r) {
            std::vector<Update> round_updates;
            for (std::size_t k = 0; k < n; ++k) {
                auto s = zo_step(*task, theta, kSwarm, author_of(k), r,
                                 draw(rngs[k], shards[k], o.batch), o);
                round_updates.insert(round_updates.end(), s.updates.begin(), s.updates.end());
            }
            sort_canonical(round_updates);
            apply_updates(theta, round_updates, rule);
            if ((r + 1) % kEvalEvery == 0) {
                const double acc = task->evaluate(theta).accuracy;
                if (acc > best) best = acc, best_round = r + 1;
                if (r90 < 0 && acc >= 0.90) r90 = r + 1;
                if (r95 < 0 && acc >= 0.95) r95 = r + 1;
            }
        }
        auto show = [](int v) { return v < 0 ? std::string("not reached") : std::to_string(v); };
        std::printf("%-6zu %14s %14s %14.3f %12d\n", n, show(r90).c_str(), show(r95).c_str(), best,
                    best_round);
        std::fflush(stdout);
    }
    return 0;
}
