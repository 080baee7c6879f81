// bench-deps: swarmd_rl
// SAPO at our scale in one run: silo (8 local / 0 external) against sharing mixes, selection
// strategies and importance correction, N = 4 and 8 in-process nodes, several seeds. Prints
// cumulative reward and its ratio to the silo measured in the same run.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "rl/grpo.hpp"
#include "rl/policy.hpp"
#include "rl/swarm.hpp"
#include "rl/tasks.hpp"

using namespace swarmd::rl;

namespace {

struct Config {
    std::string name;
    std::size_t local = 8;
    std::size_t external = 0;
    Selection selection = Selection::uniform;
    Correction correction = Correction::none;
};

struct RunResult {
    std::vector<double> cum_reward;    // per node: sum over rounds of the mean local reward
    std::vector<double> rollouts;      // per node: rollouts generated
    std::vector<std::vector<float>> accuracy;  // per node: greedy accuracy per eval entry
    double signal_groups = 0.0;        // mean groups with reward variance per step
};

struct Settings {
    int rounds = 60;
    int seeds = 3;
    std::vector<int> nodes = {4, 8};
    int base_seeds = 1;
    int warmup_steps = 1500;
    double lr = 1e-3;
    float rho_max = 1.0f;
    int eval_per_entry = 32;
    int level = 1;
    std::string mixes = "all,special";
    bool full = false;
    std::string cache_dir;
};

double mean(const std::vector<double>& v) {
    return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

double stdev(const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = mean(v);
    double s = 0.0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / (v.size() - 1));
}

Policy base_policy(const Settings& s, std::uint64_t seed) {
    const auto path = std::filesystem::path(s.cache_dir) /
                      ("sapo_base_" + std::to_string(seed) + "_" +
                       std::to_string(s.warmup_steps) + ".pt");
    if (auto loaded = load_policy(path)) return loaded.value();
    torch::manual_seed(seed);
    Policy policy(PolicyOptions{});
    WarmupOptions w;
    w.steps = s.warmup_steps;
    for (Family f : kAllFamilies) {
        for (std::uint8_t l = 0; l < kLevelCount; ++l) w.mix.entries.emplace_back(f, l);
    }
    Rng rng(mix_seed({seed, 0x77}));
    const auto t0 = std::chrono::steady_clock::now();
    const auto losses = warmup(policy, w, rng);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("# base policy seed %llu: %lld params, warm-up %d steps in %.0f s, loss %.3f -> %.3f\n",
                static_cast<unsigned long long>(seed),
                static_cast<long long>(policy->parameter_count()), w.steps, secs, losses.front(),
                losses.back());
    (void)save_policy(policy, path);
    return policy;
}

TaskMix node_mix(const std::string& mix, int level, int node) {
    if (mix == "special") {
        return TaskMix::one_family(kAllFamilies[node % kFamilyCount],
                                   static_cast<std::uint8_t>(level));
    }
    return TaskMix::all_families(static_cast<std::uint8_t>(level));
}

RunResult run(const Settings& s, const Policy& base, const Config& c, const std::string& mix,
              int n, std::uint64_t seed) {
    InMemorySwarm swarm;
    for (int i = 0; i < n; ++i) {
        NodeOptions o;
        o.lr = s.lr;
        o.sampler.local = c.local;
        o.sampler.external = c.external;
        o.sampler.selection = c.selection;
        o.grpo.correction = c.correction;
        o.grpo.rho_max = s.rho_max;
        o.pool.round_window = 0;  // synchronous rounds: only this round's batches
        o.mix = node_mix(mix, s.level, i);
        swarm.add(std::make_unique<SwarmNode>("node" + std::to_string(i), base, o,
                                              mix_seed({seed, static_cast<std::uint64_t>(i)})));
    }
    RunResult r;
    r.cum_reward.assign(n, 0.0);
    r.rollouts.assign(n, 0.0);
    double signal = 0.0;
    for (int round = 0; round < s.rounds; ++round) {
        const auto stats = swarm.run_round(round);
        for (int i = 0; i < n; ++i) {
            r.cum_reward[i] += stats[i].local_reward / stats[i].local_rollouts;
            r.rollouts[i] += stats[i].local_rollouts;
            signal += stats[i].grpo.groups_used;
        }
    }
    r.signal_groups = signal / (static_cast<double>(s.rounds) * n);
    const TaskMix eval = TaskMix::all_families(static_cast<std::uint8_t>(s.level));
    for (auto& node : swarm.nodes()) {
        r.accuracy.push_back(greedy_accuracy(node->policy(), eval, s.eval_per_entry, 0xe7a1));
    }
    return r;
}

// The first n nodes of a run (silo nodes are independent, so a silo of 8 contains one of 4).
RunResult first_nodes(const RunResult& r, int n) {
    RunResult out = r;
    out.cum_reward.resize(n);
    out.rollouts.resize(n);
    out.accuracy.resize(n);
    return out;
}

double mean_accuracy(const RunResult& r) {
    double s = 0.0;
    std::size_t k = 0;
    for (const auto& a : r.accuracy) {
        for (float x : a) s += x, ++k;
    }
    return k ? s / k : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    CLI::App app{"SAPO swarm benchmark: cumulative reward of sharing mixes relative to silo"};
    app.add_option("--rounds", s.rounds, "rounds per run");
    app.add_option("--seeds", s.seeds, "seeds (base policy and node seeds)");
    app.add_option("--nodes", s.nodes, "swarm sizes");
    app.add_option("--base-seeds", s.base_seeds,
                   "distinct base policies (seed k starts from base k mod this); cached");
    app.add_option("--warmup-steps", s.warmup_steps, "supervised warm-up steps of the base policy");
    app.add_option("--lr", s.lr, "Adam learning rate of the GRPO step");
    app.add_option("--rho-max", s.rho_max, "truncation of importance weights");
    app.add_option("--level", s.level, "task level of the mixes (0 easy .. 3 hardest)");
    app.add_option("--mixes", s.mixes, "comma list of: all (every family), special (one per node)");
    app.add_option("--eval", s.eval_per_entry, "greedy evaluation tasks per family");
    app.add_flag("--full", s.full, "every mix / selection / correction combination");
    s.cache_dir = std::filesystem::temp_directory_path().string();
    app.add_option("--cache-dir", s.cache_dir, "where base policies are cached");
    CLI11_PARSE(app, argc, argv);
    torch::set_num_threads(1);

    std::vector<Config> configs = {
        {"silo 8/0", 8, 0, Selection::uniform, Correction::none},
        {"4/4 uniform", 4, 4, Selection::uniform, Correction::none},
        {"4/4 variance", 4, 4, Selection::variance_first, Correction::none},
        {"4/4 variance+IS", 4, 4, Selection::variance_first, Correction::token},
        {"4/4 rare+IS", 4, 4, Selection::rare_success, Correction::token},
    };
    if (s.full) {
        configs.push_back({"6/2 uniform", 6, 2, Selection::uniform, Correction::none});
        configs.push_back({"6/2 variance+IS", 6, 2, Selection::variance_first, Correction::token});
        configs.push_back({"2/6 variance+IS", 2, 6, Selection::variance_first, Correction::token});
        configs.push_back({"4/4 rare", 4, 4, Selection::rare_success, Correction::none});
        configs.push_back({"4/4 variance+seqIS", 4, 4, Selection::variance_first,
                           Correction::sequence});
    }
    std::vector<std::string> mixes;
    for (std::size_t a = 0, b; a <= s.mixes.size(); a = b + 1) {
        b = s.mixes.find(',', a);
        if (b == std::string::npos) b = s.mixes.size();
        if (b > a) mixes.push_back(s.mixes.substr(a, b - a));
    }
    const int max_n = *std::max_element(s.nodes.begin(), s.nodes.end());

    std::vector<Policy> bases;
    for (int seed = 0; seed < std::min(s.seeds, s.base_seeds); ++seed) {
        bases.push_back(base_policy(s, seed));
        // Difficulty range of the suite under the base policy (sampled, temperature 1).
        if (seed == 0) {
            std::printf("# base sampled reward per family at levels 0..3 (temperature 1):\n");
            Rng rng(1);
            for (Family f : kAllFamilies) {
                std::printf("#   %-9s", std::string(family_name(f)).c_str());
                for (std::uint8_t l = 0; l < kLevelCount; ++l) {
                    std::printf(" %.2f", sampled_reward(bases.back(), TaskMix::one_family(f, l),
                                                        64, 0xba5e, 1.0f, rng));
                }
                std::printf("\n");
            }
        }
    }

    for (const auto& mix : mixes) {
        // results[config][n] = one RunResult per seed
        std::map<std::string, std::map<int, std::vector<RunResult>>> results;
        for (const auto& c : configs) {
            // Largest swarm first: a smaller silo is the first nodes of the largest one.
            std::vector<int> sizes = s.nodes;
            std::sort(sizes.rbegin(), sizes.rend());
            for (int n : sizes) {
                for (int seed = 0; seed < s.seeds; ++seed) {
                    const auto t0 = std::chrono::steady_clock::now();
                    RunResult r;
                    if (c.external == 0 && n != max_n) {
                        r = first_nodes(results[c.name][max_n][seed], n);
                    } else {
                        r = run(s, bases[seed % bases.size()], c, mix, n, mix_seed({0x5a90, static_cast<std::uint64_t>(seed)}));
                    }
                    results[c.name][n].push_back(r);
                    const double secs = std::chrono::duration<double>(
                                            std::chrono::steady_clock::now() - t0).count();
                    std::fprintf(stderr, "  %s N=%d %s seed %d: cum %.2f (%.0f s)\n", mix.c_str(), n,
                                 c.name.c_str(), seed, mean(r.cum_reward), secs);
                }
            }
        }
        std::printf("\n## mix=%s level=%d rounds=%d seeds=%d (G=8, one Adam step per round, lr %g)\n",
                    mix.c_str(), s.level, s.rounds, s.seeds, s.lr);
        std::printf("%-20s %3s %18s %14s %9s %13s %14s %8s  acc per family (%s)\n", "config", "N",
                    "cum reward", "ratio to silo", "rollouts", "reward/rollout", "ratio to silo",
                    "signal", "add mul sort rev cnt dsum alg comp");
        for (int n : s.nodes) {
            const auto& silo = results[configs.front().name][n];
            for (const auto& c : configs) {
                const auto& runs = results[c.name][n];
                std::vector<double> cum, ratio, per_rollout_ratio, signal, acc;
                std::vector<double> fam(kFamilyCount, 0.0);
                double rollouts = 0.0;
                for (std::size_t k = 0; k < runs.size(); ++k) {
                    const double cr = mean(runs[k].cum_reward);
                    const double sr = mean(silo[k].cum_reward);
                    cum.push_back(cr);
                    ratio.push_back(cr / sr);
                    const double rpr = cr / mean(runs[k].rollouts);
                    const double srpr = sr / mean(silo[k].rollouts);
                    per_rollout_ratio.push_back(rpr / srpr);
                    signal.push_back(runs[k].signal_groups);
                    acc.push_back(mean_accuracy(runs[k]));
                    rollouts = mean(runs[k].rollouts);
                    for (const auto& a : runs[k].accuracy) {
                        for (int f = 0; f < kFamilyCount; ++f) fam[f] += a[f] / (runs.size() * runs[k].accuracy.size());
                    }
                }
                std::printf("%-20s %3d %9.2f ± %6.2f %8.3f ± %.3f %9.0f %13.5f %8.2fx %8.2f  acc %.3f |",
                            c.name.c_str(), n, mean(cum), stdev(cum), mean(ratio), stdev(ratio),
                            rollouts, mean(cum) / rollouts, mean(per_rollout_ratio), mean(signal),
                            mean(acc));
                for (double f : fam) std::printf(" %.2f", f);
                std::printf("\n");
            }
        }
        std::fflush(stdout);
    }
    return 0;
}
