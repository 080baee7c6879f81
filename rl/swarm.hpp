#pragma once
// A SAPO node (generate -> publish -> receive -> select -> GRPO step) and an in-process swarm
// that moves encoded rollout batches between nodes in memory: the data path the daemon uses over
// gossip, without the network.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "rl/grpo.hpp"
#include "rl/policy.hpp"
#include "rl/sampler.hpp"

namespace swarmd::rl {

struct NodeOptions {
    static constexpr std::size_t kDefaultGroupSize = 8;
    static constexpr double kDefaultLr = 1e-3;

    std::size_t group_size = kDefaultGroupSize;  // G completions per question
    double lr = kDefaultLr;                      // Adam, one step per round
    SamplerOptions sampler;
    GrpoOptions grpo;
    PoolOptions pool;
    SampleOptions sample;
    TaskMix mix;
    // Trained-on external groups leave the pool, so a group is used once even when the round
    // window keeps it for several rounds (asynchronous nodes).
    bool consume_external = false;
};

struct RoundStats {
    std::size_t local_rollouts = 0;
    float local_reward = 0.0f;  // sum over this round's local rollouts
    std::size_t external_offered = 0;
    std::size_t external_used = 0;
    GrpoStats grpo;
};

class SwarmNode {
  public:
    SwarmNode(std::string id, const Policy& base, NodeOptions options, std::uint64_t seed);

    // Generates this round's I local groups and returns them as an encoded batch to publish.
    Bytes generate(std::uint64_t round);
    // A batch from the swarm (any author, any round; the pool filters).
    void receive(ByteSpan batch);
    // A batch that a gossip validator already decoded and scored.
    void receive(CheckedBatch batch);
    // Picks J external groups and takes one GRPO step on local + external.
    RoundStats train(std::uint64_t round);

    const std::string& id() const noexcept { return m_id; }
    Policy& policy() noexcept { return m_policy; }
    const RolloutPool& pool() const noexcept { return m_pool; }
    const NodeOptions& options() const noexcept { return m_options; }

  private:
    std::string m_id;
    NodeOptions m_options;
    Policy m_policy;
    std::unique_ptr<torch::optim::Adam> m_optimizer;
    Rng m_rng;
    RolloutPool m_pool;
    std::vector<ScoredGroup> m_local;
    RoundStats m_round;
};

class InMemorySwarm {
  public:
    void add(std::unique_ptr<SwarmNode> node) { m_nodes.push_back(std::move(node)); }
    std::vector<std::unique_ptr<SwarmNode>>& nodes() noexcept { return m_nodes; }

    // Every node generates, every batch reaches every other node, every node trains.
    std::vector<RoundStats> run_round(std::uint64_t round);

    // Rewrites the batch a node publishes before delivery (a lying or broken sender in tests).
    std::function<void(std::size_t node, Bytes& batch)> tamper;

  private:
    std::vector<std::unique_ptr<SwarmNode>> m_nodes;
};

}  // namespace swarmd::rl
