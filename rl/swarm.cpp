#include "rl/swarm.hpp"

#include <algorithm>

#include "rl/log.hpp"

namespace swarmd::rl {

SwarmNode::SwarmNode(std::string id, const Policy& base, NodeOptions options, std::uint64_t seed)
    : m_id(std::move(id)),
      m_options(std::move(options)),
      m_policy(clone_policy(base)),
      m_optimizer(std::make_unique<torch::optim::Adam>(m_policy->parameters(),
                                                       torch::optim::AdamOptions(m_options.lr))),
      m_rng(seed),
      m_pool(m_id, m_options.pool) {}

Bytes SwarmNode::generate(std::uint64_t round) {
    m_pool.set_round(round);
    m_local.clear();
    m_round = RoundStats{};
    const std::size_t g = m_options.group_size;
    std::vector<TaskId> tasks;
    std::vector<Problem> problems;
    std::vector<Tokens> prompts;
    for (std::size_t i = 0; i < m_options.sampler.local; ++i) {
        tasks.push_back(m_options.mix.draw(m_rng));
        problems.push_back(swarmd::rl::generate(tasks.back()).value());
        const Tokens prompt = prompt_tokens(problems.back().prompt);
        for (std::size_t k = 0; k < g; ++k) prompts.push_back(prompt);
    }
    auto samples = sample(m_policy, prompts, m_options.sample, m_rng);

    RolloutBatch batch{m_id, round, {}};
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        ScoredGroup local;
        local.author = m_id;
        local.round = round;
        local.prompt = problems[i].prompt;
        local.group.task = tasks[i];
        for (std::size_t k = 0; k < g; ++k) {
            Sample& s = samples[i * g + k];
            const float reward = verify(problems[i], decode_text(s.tokens));
            local.rewards.push_back(reward);
            local.group.completions.push_back({std::move(s.tokens), std::move(s.logprobs), reward});
            m_round.local_reward += reward;
            ++m_round.local_rollouts;
        }
        batch.groups.push_back(local.group);
        m_local.push_back(std::move(local));
    }
    return encode_batch(batch);
}

void SwarmNode::receive(ByteSpan batch) { (void)m_pool.add_batch(batch); }

void SwarmNode::receive(CheckedBatch batch) { m_pool.add_checked(std::move(batch)); }

RoundStats SwarmNode::train(std::uint64_t round) {
    m_pool.set_round(round);
    const auto& pool = m_pool.groups();
    m_round.external_offered = pool.size();
    const auto picked = select_external(pool, m_options.sampler, m_rng);
    m_round.external_used = picked.size();

    std::vector<const ScoredGroup*> groups;
    for (const auto& g : m_local) groups.push_back(&g);
    for (std::size_t i : picked) groups.push_back(&pool[i]);
    // Canonical order, so nodes that train on the same groups take the same step.
    std::sort(groups.begin(), groups.end(), [](const ScoredGroup* a, const ScoredGroup* b) {
        return std::tie(a->author, a->round, a->group.task) <
               std::tie(b->author, b->round, b->group.task);
    });
    m_round.grpo = grpo_step(m_policy, *m_optimizer, groups, m_options.grpo);
    if (m_options.consume_external) m_pool.erase(picked);
    const auto& g = m_round.grpo;
    rl_log().debug(
        "round {} node={} local_reward={:.3f} external_used={}/{} groups_used={} dropped={} "
        "is_weight_mean={:.3f} max={:.3f} loss={:.4f}{}",
        round, m_id,
        m_round.local_rollouts ? m_round.local_reward / static_cast<float>(m_round.local_rollouts)
                               : 0.0f,
        m_round.external_used, m_round.external_offered, g.groups_used, g.groups_dropped,
        g.mean_weight, g.max_weight, g.loss, g.stepped ? "" : " (no step: no group had signal)");
    return m_round;
}

std::vector<RoundStats> InMemorySwarm::run_round(std::uint64_t round) {
    std::vector<Bytes> batches;
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        batches.push_back(m_nodes[i]->generate(round));
        if (tamper) tamper(i, batches.back());
    }
    for (auto& node : m_nodes) {
        if (node->options().sampler.external == 0) continue;  // a silo listens to no one
        for (const Bytes& b : batches) node->receive(b);
    }
    std::vector<RoundStats> stats;
    for (auto& node : m_nodes) stats.push_back(node->train(round));
    return stats;
}

}  // namespace swarmd::rl
