// bench-deps: swarmd_rl
// SAPO at our scale in one run: silo (8 local / 0 external) against sharing mixes, selection
// strategies and importance correction, N = 4 and 8 in-process nodes, several seeds. Prints
// cumulative reward and its ratio to the silo measured in the same run, with the same seeds.
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "bench/zo_common.hpp"
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
    float external_scale = 1.0f;
};

struct RunResult {
    std::vector<double> cum_reward;            // per node: sum over rounds of the mean local reward
    std::vector<double> rollouts;              // per node: rollouts generated
    std::vector<std::vector<float>> accuracy;  // per node: greedy accuracy per eval entry
    double signal_groups = 0.0;                // mean groups with reward variance per step
    double seconds = 0.0;
    // Wall time per phase: generate (sampling, scoring, encoding), receive (decoding and
    // re-verification), train (selection and the GRPO step), final evaluation.
    double generate_s = 0.0, receive_s = 0.0, train_s = 0.0, eval_s = 0.0;
};

struct Settings {
    int rounds = 60;
    int seeds = 3;
    int seed_offset = 0;
    std::vector<int> nodes = {4, 8};
    int base_seeds = 1;
    int warmup_steps = 1500;
    double lr = 1e-3;
    float rho_max = 1.0f;
    float external_scale = 1.0f;
    int eval_per_entry = 32;
    int level = 1;
    double rare_lo = 0.04;
    double rare_hi = 0.20;
    std::string mixes = "rare,special";
    std::string only;
    bool full = false;
    int jobs = 1;
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

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t a = 0, b; a <= s.size(); a = b + 1) {
        b = s.find(',', a);
        if (b == std::string::npos) b = s.size();
        if (b > a) out.push_back(s.substr(a, b - a));
    }
    return out;
}

Policy base_policy(const Settings& s, std::uint64_t seed) {
    const auto path =
        std::filesystem::path(s.cache_dir) /
        ("sapo_base_" + std::to_string(seed) + "_" + std::to_string(s.warmup_steps) + ".pt");
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
    std::printf(
        "# base policy seed %llu: %lld params, warm-up %d steps in %.0f s, loss %.3f -> %.3f\n",
        static_cast<unsigned long long>(seed), static_cast<long long>(policy->parameter_count()),
        w.steps, secs, losses.front(), losses.back());
    (void)save_policy(policy, path);
    return policy;
}

// The task mixes of the benchmark. Every node of a homogeneous mix draws from the same entries;
// in the specialised mix node i sees only family i.
struct Mix {
    std::string name;
    TaskMix shared;  // homogeneous mixes
    bool special = false;
    TaskMix eval;  // greedy accuracy is reported per entry of this mix
};

TaskMix node_mix(const Mix& mix, int level, int node) {
    if (mix.special) {
        return TaskMix::one_family(kAllFamilies[node % kFamilyCount],
                                   static_cast<std::uint8_t>(level));
    }
    return mix.shared;
}

RunResult run(const Settings& s, const Policy& base, const Config& c, const Mix& mix, int n,
              std::uint64_t seed) {
    const auto t0 = std::chrono::steady_clock::now();
    InMemorySwarm swarm;
    for (int i = 0; i < n; ++i) {
        NodeOptions o;
        o.lr = s.lr;
        o.sampler.local = c.local;
        o.sampler.external = c.external;
        o.sampler.selection = c.selection;
        o.grpo.correction = c.correction;
        o.grpo.rho_max = s.rho_max;
        o.grpo.external_scale = c.external_scale;
        o.pool.round_window = 0;  // synchronous rounds: only this round's batches
        o.mix = node_mix(mix, s.level, i);
        swarm.add(std::make_unique<SwarmNode>("node" + std::to_string(i), base, o,
                                              mix_seed({seed, static_cast<std::uint64_t>(i)})));
    }
    RunResult r;
    r.cum_reward.assign(n, 0.0);
    r.rollouts.assign(n, 0.0);
    double signal = 0.0;
    using Clock = std::chrono::steady_clock;
    auto lap = [](Clock::time_point& t) {
        const auto now = Clock::now();
        const double d = std::chrono::duration<double>(now - t).count();
        t = now;
        return d;
    };
    auto& nodes = swarm.nodes();
    for (int round = 0; round < s.rounds; ++round) {
        // InMemorySwarm::run_round, phase by phase.
        const auto u = static_cast<std::uint64_t>(round);
        auto t = Clock::now();
        std::vector<swarmd::Bytes> batches;
        for (auto& node : nodes) batches.push_back(node->generate(u));
        r.generate_s += lap(t);
        for (auto& node : nodes) {
            if (node->options().sampler.external == 0) continue;
            for (const auto& b : batches) node->receive(b);
        }
        r.receive_s += lap(t);
        std::vector<RoundStats> stats;
        for (auto& node : nodes) stats.push_back(node->train(u));
        r.train_s += lap(t);
        for (int i = 0; i < n; ++i) {
            r.cum_reward[i] += stats[i].local_reward / stats[i].local_rollouts;
            r.rollouts[i] += stats[i].local_rollouts;
            signal += stats[i].grpo.groups_used;
        }
    }
    r.signal_groups = signal / (static_cast<double>(s.rounds) * n);
    auto t_eval = Clock::now();
    for (auto& node : swarm.nodes()) {
        r.accuracy.push_back(greedy_accuracy(node->policy(), mix.eval, s.eval_per_entry, 0xe7a1));
    }
    r.eval_s = lap(t_eval);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

std::vector<Config> configs_for(const Settings& s) {
    const float k = s.external_scale;
    std::vector<Config> configs;
    configs.push_back({"silo 8/0", 8, 0, Selection::uniform, Correction::none, 1.0f});
    if (s.full) {
        // The grid: every split, every selection strategy, importance correction on/off.
        for (auto [local, external] : {std::pair{6, 2}, {4, 4}, {2, 6}}) {
            for (Selection sel : {Selection::uniform, Selection::variance_first,
                                  Selection::rare_success, Selection::most_signal}) {
                for (Correction cor : {Correction::none, Correction::token}) {
                    std::string name = std::to_string(local) + "/" + std::to_string(external) +
                                       " " + std::string(selection_name(sel));
                    if (cor != Correction::none) name += "+IS";
                    configs.push_back({name, static_cast<std::size_t>(local),
                                       static_cast<std::size_t>(external), sel, cor, k});
                }
            }
        }
        configs.push_back(
            {"4/4 variance+seqIS", 4, 4, Selection::variance_first, Correction::sequence, k});
    } else {
        configs.push_back({"4/4 uniform", 4, 4, Selection::uniform, Correction::none, k});
        configs.push_back({"4/4 variance", 4, 4, Selection::variance_first, Correction::none, k});
        configs.push_back(
            {"4/4 variance+IS", 4, 4, Selection::variance_first, Correction::token, k});
        configs.push_back({"4/4 rare+IS", 4, 4, Selection::rare_success, Correction::token, k});
        configs.push_back({"4/4 signal+IS", 4, 4, Selection::most_signal, Correction::token, k});
    }
    if (!s.only.empty()) {
        const auto keep = split(s.only);
        std::erase_if(configs, [&](const Config& c) {
            return c.external != 0 && std::find(keep.begin(), keep.end(), c.name) == keep.end();
        });
    }
    return configs;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    CLI::App app{"SAPO swarm benchmark: cumulative reward of sharing mixes relative to silo"};
    app.add_option("--rounds", s.rounds, "rounds per run");
    app.add_option("--seeds", s.seeds, "seeds per configuration");
    app.add_option("--seed-offset", s.seed_offset,
                   "first node seed (use another range to tune without touching the test seeds)");
    app.add_option("--nodes", s.nodes, "swarm sizes");
    app.add_option("--base-seeds", s.base_seeds,
                   "distinct base policies (seed k starts from base k mod this); cached");
    app.add_option("--warmup-steps", s.warmup_steps, "supervised warm-up steps of the base policy");
    app.add_option("--lr", s.lr, "Adam learning rate of the GRPO step");
    app.add_option("--rho-max", s.rho_max, "truncation of importance weights");
    app.add_option("--external-scale", s.external_scale,
                   "factor on the advantages of external groups");
    app.add_option("--level", s.level, "task level of the all and special mixes (0 easy .. 3)");
    app.add_option("--rare-lo", s.rare_lo, "rare mix: lowest base sampled reward of a level");
    app.add_option("--rare-hi", s.rare_hi, "rare mix: highest base sampled reward of a level");
    app.add_option("--mixes", s.mixes,
                   "comma list of: rare (per family the level whose base reward is rare), all "
                   "(every family at --level), special (node i sees only family i)");
    app.add_option("--only", s.only, "comma list of sharing configuration names to run");
    app.add_option("--eval", s.eval_per_entry, "greedy evaluation tasks per mix entry");
    app.add_option("--jobs", s.jobs, "runs in parallel (one torch thread each)");
    app.add_flag("--full", s.full,
                 "the full grid: 6/2, 4/4, 2/6 x every selection x importance correction on/off");
    s.cache_dir = std::filesystem::temp_directory_path().string();
    app.add_option("--cache-dir", s.cache_dir, "where base policies are cached");
    CLI11_PARSE(app, argc, argv);
    // One compute thread per run, OpenBLAS's own pool included: OpenBLAS ignores torch's
    // setting, and its second thread spinning on these tiny matrices cost most of the time.
    swarmd::bench::single_thread();

    const std::vector<Config> configs = configs_for(s);
    const int max_n = *std::max_element(s.nodes.begin(), s.nodes.end());

    std::vector<Policy> bases;
    std::array<std::array<double, kLevelCount>, kFamilyCount> base_reward{};
    for (int seed = 0; seed < std::min(s.seeds, s.base_seeds); ++seed) {
        bases.push_back(base_policy(s, seed));
        if (seed != 0) continue;
        // Difficulty range of the suite under the base policy (sampled, temperature 1).
        std::printf("# base sampled reward per family at levels 0..3 (temperature 1):\n");
        Rng rng(1);
        for (Family f : kAllFamilies) {
            std::printf("#   %-9s", std::string(family_name(f)).c_str());
            for (std::uint8_t l = 0; l < kLevelCount; ++l) {
                const auto fi = static_cast<std::size_t>(f);
                base_reward[fi][l] =
                    sampled_reward(bases.back(), TaskMix::one_family(f, l), 128, 0xba5e, 1.0f, rng);
                std::printf(" %.3f", base_reward[fi][l]);
            }
            std::printf("\n");
        }
    }

    std::vector<Mix> mixes;
    for (const auto& name : split(s.mixes)) {
        Mix m;
        m.name = name;
        const auto level = static_cast<std::uint8_t>(s.level);
        if (name == "all") {
            m.shared = TaskMix::all_families(level);
            m.eval = m.shared;
        } else if (name == "special") {
            m.special = true;
            m.eval = TaskMix::all_families(level);
        } else if (name == "rare") {
            // Per family the level whose base sampled reward is in [lo, hi] and closest to the
            // middle: a group of 8 then often has no success, and one that has carries signal.
            const double mid = (s.rare_lo + s.rare_hi) / 2;
            for (Family f : kAllFamilies) {
                int best = -1;
                for (int l = 0; l < kLevelCount; ++l) {
                    const double r = base_reward[static_cast<std::size_t>(f)][l];
                    if (r < s.rare_lo || r > s.rare_hi) continue;
                    if (best < 0 ||
                        std::abs(r - mid) <
                            std::abs(base_reward[static_cast<std::size_t>(f)][best] - mid)) {
                        best = l;
                    }
                }
                if (best >= 0) m.shared.entries.emplace_back(f, static_cast<std::uint8_t>(best));
            }
            m.eval = m.shared;
            std::printf("# rare mix (base sampled reward in [%.2f, %.2f]):", s.rare_lo, s.rare_hi);
            for (auto [f, l] : m.shared.entries) {
                std::printf(" %s@L%d(%.3f)", std::string(family_name(f)).c_str(), l,
                            base_reward[static_cast<std::size_t>(f)][l]);
            }
            std::printf("\n");
        } else {
            std::fprintf(stderr, "unknown mix %s\n", name.c_str());
            return 2;
        }
        if (!m.special && m.shared.entries.empty()) {
            std::fprintf(stderr, "mix %s is empty\n", name.c_str());
            return 2;
        }
        mixes.push_back(std::move(m));
    }
    std::fflush(stdout);

    // Every (mix, config, N, seed) run is independent; a silo is run at the largest N only.
    struct Job {
        std::size_t mix, config;
        int n, seed;
    };
    std::vector<Job> jobs;
    for (std::size_t m = 0; m < mixes.size(); ++m) {
        for (std::size_t c = 0; c < configs.size(); ++c) {
            for (int n : s.nodes) {
                if (configs[c].external == 0 && n != max_n) continue;
                for (int seed = 0; seed < s.seeds; ++seed) jobs.push_back({m, c, n, seed});
            }
        }
    }
    // results[mix][config][n][seed]
    std::vector<std::vector<std::map<int, std::vector<RunResult>>>> results(
        mixes.size(), std::vector<std::map<int, std::vector<RunResult>>>(configs.size()));
    for (auto& per_mix : results) {
        for (auto& per_config : per_mix) {
            for (int n : s.nodes) per_config[n].resize(s.seeds);
        }
    }
    std::atomic<std::size_t> next{0};
    std::mutex out_mutex;
    const auto t_start = std::chrono::steady_clock::now();
    auto worker = [&] {
        for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
            const Job& job = jobs[j];
            const int seed = s.seed_offset + job.seed;
            RunResult r =
                run(s, bases[job.seed % bases.size()], configs[job.config], mixes[job.mix], job.n,
                    mix_seed({0x5a90, static_cast<std::uint64_t>(seed)}));
            std::lock_guard lock(out_mutex);
            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
            std::fprintf(stderr,
                         "  [%zu/%zu %.0f s] %s N=%d %s seed %d: cum %.2f (%.1f s: generate %.1f, "
                         "receive %.1f, train %.1f, eval %.1f)\n",
                         j + 1, jobs.size(), elapsed, mixes[job.mix].name.c_str(), job.n,
                         configs[job.config].name.c_str(), seed, mean(r.cum_reward), r.seconds,
                         r.generate_s, r.receive_s, r.train_s, r.eval_s);
            results[job.mix][job.config][job.n][job.seed] = std::move(r);
        }
    };
    {
        std::vector<std::thread> threads;
        for (int t = 0; t < std::max(1, s.jobs); ++t) threads.emplace_back(worker);
        for (auto& t : threads) t.join();
    }
    for (std::size_t m = 0; m < mixes.size(); ++m) {
        auto& silo_runs = results[m][0];
        for (int n : s.nodes) {
            if (n == max_n) continue;
            for (int seed = 0; seed < s.seeds; ++seed) {
                silo_runs[n][seed] = first_nodes(silo_runs[max_n][seed], n);
            }
        }
    }

    for (std::size_t m = 0; m < mixes.size(); ++m) {
        const Mix& mix = mixes[m];
        std::printf(
            "\n## mix=%s rounds=%d seeds=%d..%d (G=8, one Adam step per round, lr %g, "
            "rho_max %g, external scale %g)\n",
            mix.name.c_str(), s.rounds, s.seed_offset, s.seed_offset + s.seeds - 1, s.lr, s.rho_max,
            s.external_scale);
        std::printf("%-20s %3s %16s %15s %8s %14s %7s %6s  greedy acc per family:", "config", "N",
                    "cum reward", "ratio to silo", "rollouts", "reward/rollout", "signal", "acc");
        for (auto [f, l] : mix.eval.entries) {
            std::printf(" %s%d", std::string(family_name(f)).substr(0, 4).c_str(), l);
        }
        std::printf("\n");
        for (int n : s.nodes) {
            const auto& silo = results[m][0][n];
            for (std::size_t c = 0; c < configs.size(); ++c) {
                const auto& runs = results[m][c][n];
                std::vector<double> cum, ratio, per_rollout_ratio, signal, acc;
                std::vector<double> fam(mix.eval.entries.size(), 0.0);
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
                        for (std::size_t f = 0; f < fam.size(); ++f) {
                            fam[f] += a[f] / (runs.size() * runs[k].accuracy.size());
                        }
                    }
                }
                std::printf("%-20s %3d %7.2f ± %5.2f %6.3f ± %.3f %8.0f %13.2fx %7.2f %6.3f  |",
                            configs[c].name.c_str(), n, mean(cum), stdev(cum), mean(ratio),
                            stdev(ratio), rollouts, mean(per_rollout_ratio), mean(signal),
                            mean(acc));
                for (double f : fam) std::printf(" %.2f", f);
                std::printf("\n");
            }
        }
        std::fflush(stdout);
    }
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::printf("\n# %zu runs in %.0f s\n", jobs.size(), total);
    return 0;
}
