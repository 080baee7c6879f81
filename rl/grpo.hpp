#pragma once
// GRPO without a KL penalty, one optimizer step per round, with an off-policy correction for
// rollouts that other nodes' policies generated.
#include <torch/torch.h>

#include <vector>

#include "rl/policy.hpp"
#include "rl/sampler.hpp"

namespace swarmd::rl {

enum class Correction {
    none,      // external rollouts used as if on-policy (the paper)
    token,     // per-token truncated importance weight min(rho_max, pi/mu), V-trace style
    sequence,  // one truncated weight per completion from the product of token ratios
};

std::string_view correction_name(Correction c) noexcept;

struct GrpoOptions {
    static constexpr float kDefaultRhoMax = 1.0f;
    static constexpr double kDefaultMaxGradNorm = 1.0;

    float temperature = SampleOptions::kDefaultTemperature;  // must match the sampling temperature
    Correction correction = Correction::token;
    // Upper bound of an importance weight. The carried behaviour log-probabilities come from the
    // sender; a sender that understates them can raise its weight to rho_max and no further.
    float rho_max = kDefaultRhoMax;
    bool normalize_std = true;  // divide advantages by the group's reward std (GRPO)
    // Multiplies the advantages of external groups: below 1, groups from other policies steer
    // the step less than the node's own (they cannot dominate it however many are picked).
    float external_scale = 1.0f;
    double max_grad_norm = kDefaultMaxGradNorm;
};

struct GrpoStats {
    std::size_t groups_used = 0;
    std::size_t groups_dropped = 0;  // zero advantage: every completion had the same reward
    std::size_t completions = 0;
    float loss = 0.0f;
    float mean_weight = 1.0f;  // importance weights of external tokens
    float max_weight = 1.0f;
    bool stepped = false;
};

// Group-relative advantages; empty when all rewards are equal (the group carries no signal).
std::vector<float> group_advantages(const std::vector<float>& rewards, bool normalize_std);

// One update on the given groups (their order is the canonical order of the batch).
GrpoStats grpo_step(Policy& policy, torch::optim::Optimizer& optimizer,
                    const std::vector<const ScoredGroup*>& groups, const GrpoOptions& options);

}  // namespace swarmd::rl
