// In-process swarm: virtual nodes (no network) train on their own shard of digits and exchange
// one-byte updates through an in-memory bus with random delays and drops.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "common.hpp"
#include "training/checkpoint.hpp"
#include "training/params.hpp"
#include "training/update_log.hpp"
#include "training/zo.hpp"

using namespace swarmd;
using namespace swarmd::training;
using namespace swarmd::training::test;
namespace fs = std::filesystem;

namespace {

const Bytes kSwarm{0x5a, 0x4f};
constexpr std::uint64_t kInitSeed = 1;
constexpr int kRounds = 500;
constexpr double kDropRate = 0.1;
constexpr std::uint64_t kMaxDelay = 3;  // rounds

struct SimNode {
    Bytes author;
    std::vector<float> theta;
    UpdateLog log;
    std::vector<std::uint32_t> shard;
    std::mt19937_64 rng;
};

struct Message {
    Update update;
    std::uint64_t deliver_round;
    std::size_t to;
};

struct SimResult {
    std::vector<SimNode> nodes;
    std::vector<float> init;
    double live_accuracy_min = 1.0;
};

ZoOptions sim_options() {
    ZoOptions o;
    o.lr = 1e-2f;
    return o;
}

MlpOptions sim_mlp() {
    MlpOptions m;
    m.hidden = {32};
    return m;
}

// Runs `n` nodes for kRounds rounds. Each round a node applies the updates delivered to it
// (canonically sorted within the delivery), computes one update on its own shard, applies it
// and publishes it; each copy is dropped with kDropRate or delayed by 1..kMaxDelay rounds.
SimResult simulate(const Task& task, std::size_t n, const fs::path& dir) {
    LogOptions lo;
    lo.sync = false;  // durability is covered by the log tests; this test is about convergence
    const ZoOptions o = sim_options();
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    SimResult sim;
    fs::create_directories(dir);
    sim.init = init_params(task.layout(), kSwarm, kInitSeed);
    for (std::size_t k = 0; k < n; ++k) {
        SimNode node{Bytes{0x00, 0x24, static_cast<std::uint8_t>(0xa0 + k)},
                     sim.init,
                     UpdateLog::open(dir / ("node" + std::to_string(k) + ".log"), lo).value(),
                     {},
                     std::mt19937_64(100 + k)};
        for (std::uint32_t i = 0; i < task.train_size(); ++i) {
            if (i % n == k) node.shard.push_back(i);
        }
        sim.nodes.push_back(std::move(node));
    }
    std::mt19937_64 net(7);
    std::vector<Message> in_flight;
    for (std::uint64_t r = 0; r < kRounds; ++r) {
        for (std::size_t k = 0; k < n; ++k) {
            auto& node = sim.nodes[k];
            std::vector<Update> arrived;
            for (auto it = in_flight.begin(); it != in_flight.end();) {
                if (it->to == k && it->deliver_round <= r) {
                    if (node.log.append({it->update, {}}, r).value() == Admission::accepted) {
                        arrived.push_back(it->update);
                    }
                    it = in_flight.erase(it);
                } else {
                    ++it;
                }
            }
            sort_canonical(arrived);
            apply_updates(node.theta, arrived, rule);

            const auto step = zo_step(task, node.theta, kSwarm, node.author, r,
                                      sample_batch(node.rng, node.shard, o.batch), o);
            for (const auto& u : step.updates) {
                if (node.log.append({u, {}}, r).value() != Admission::accepted) {
                    FAIL("a node's own update was not accepted by its log");
                }
                for (std::size_t peer = 0; peer < n; ++peer) {
                    if (peer == k || std::uniform_real_distribution<>(0, 1)(net) < kDropRate) {
                        continue;
                    }
                    in_flight.push_back({u, r + 1 + net() % kMaxDelay, peer});
                }
            }
            apply_updates(node.theta, step.updates, rule);
        }
    }
    for (auto& node : sim.nodes) {
        sim.live_accuracy_min = std::min(sim.live_accuracy_min, task.evaluate(node.theta).accuracy);
    }
    return sim;
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("swarmd_swarm_test_" + std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("4 virtual nodes converge to one model and beat a single node", "[swarm]") {
    TempDir dir;
    auto task = make_digits_mlp(digits(), sim_mlp());
    const ZoOptions o = sim_options();
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};

    auto sim = simulate(*task, 4, dir.path / "swarm");
    auto solo = simulate(*task, 1, dir.path / "solo");

    // Live replicas diverge (drops, delays, arrival order); anti-entropy makes the update sets
    // equal, then every node replays canonically.
    for (auto& a : sim.nodes) {
        for (auto& b : sim.nodes) {
            for (std::size_t i = 0; i < b.log.updates().size(); ++i) {
                (void)a.log.append(b.log.signed_update(i), kRounds).value();
            }
        }
    }
    std::vector<crypto::Digest> hashes;
    std::vector<float> merged;
    for (auto& node : sim.nodes) {
        CHECK(node.log.updates().size() == 4 * kRounds);
        merged = sim.init;
        replay(merged, node.log.updates(), rule);
        hashes.push_back(model_hash(merged));
    }
    for (const auto& h : hashes) CHECK(h == hashes[0]);

    // A late joiner replays the log it fetched from one peer and lands on the same hash.
    {
        auto joiner = UpdateLog::open(dir.path / "joiner.log").value();
        std::size_t accepted = 0;
        for (std::size_t i = 0; i < sim.nodes[2].log.updates().size(); ++i) {
            accepted += joiner.append(sim.nodes[2].log.signed_update(i), kRounds).value() ==
                                Admission::accepted
                            ? 1
                            : 0;
        }
        CHECK(accepted == 4 * kRounds);
        auto theta = init_params(task->layout(), kSwarm, kInitSeed);
        replay(theta, joiner.updates(), rule);
        CHECK(model_hash(theta) == hashes[0]);
    }
    // ... and so does one joining from a mid-training checkpoint plus the log suffix.
    {
        const auto ckpt = make_checkpoint(sim.init, sim.nodes[1].log.updates(), kRounds / 2, rule);
        REQUIRE_FALSE(save_checkpoint(dir.path / "ckpt", ckpt));
        const auto loaded = load_checkpoint(dir.path / "ckpt", sim.init.size()).value();
        CHECK(model_hash(join_from_checkpoint(loaded, sim.nodes[3].log.updates(), rule)) ==
              hashes[0]);
    }

    auto solo_theta = sim.init;
    replay(solo_theta, solo.nodes[0].log.updates(), rule);
    const auto swarm_m = task->evaluate(merged);
    const auto solo_m = task->evaluate(solo_theta);
    const auto init_m = task->evaluate(sim.init);
    std::printf(
        "swarm test, %d rounds, lr %.0e, drop %.0f%%, delay 1-%llu rounds: accuracy init "
        "%.3f; 1 node %.3f (loss %.3f); 4 nodes merged %.3f (loss %.3f), live min %.3f\n",
        kRounds, double(o.lr), kDropRate * 100, (unsigned long long)kMaxDelay, init_m.accuracy,
        solo_m.accuracy, solo_m.loss, swarm_m.accuracy, swarm_m.loss, sim.live_accuracy_min);
    CHECK(swarm_m.accuracy > 0.7);
    CHECK(swarm_m.accuracy > solo_m.accuracy + 0.05);
    CHECK(swarm_m.loss < solo_m.loss);
}
