#pragma once
// Rollout batches on the wire (protobuf, rl/rollouts.proto) and their validation. Decoding checks
// the size cap before parsing and every field after: a malformed batch is an error, never a throw.
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "rl/tasks.hpp"
#include "rl/vocab.hpp"

namespace swarmd::rl {

struct Rollout {
    Tokens tokens;                // completion tokens, EOS last when the policy stopped
    std::vector<float> logprobs;  // the generating policy's log-probability of each token
    float claimed_reward = 0.0f;  // metadata only: receivers recompute it
};

struct RolloutGroup {
    TaskId task;
    std::vector<Rollout> completions;
};

struct RolloutBatch {
    std::string author;
    std::uint64_t round = 0;
    std::vector<RolloutGroup> groups;
};

struct WireLimits {
    static constexpr std::size_t kDefaultMaxBytes = 256 * 1024;
    static constexpr std::size_t kDefaultMaxGroups = 64;
    static constexpr std::size_t kDefaultMaxCompletions = 32;
    static constexpr std::size_t kDefaultMaxTokens = 48;
    static constexpr std::size_t kDefaultMaxAuthorBytes = 64;

    std::size_t max_bytes = kDefaultMaxBytes;
    std::size_t max_groups = kDefaultMaxGroups;
    std::size_t max_completions = kDefaultMaxCompletions;  // per group; at least 2 required
    std::size_t max_tokens = kDefaultMaxTokens;            // per completion
    std::size_t max_author_bytes = kDefaultMaxAuthorBytes;
};

Bytes encode_task(const TaskId& task);
Result<TaskId> decode_task(ByteSpan bytes);

Bytes encode_batch(const RolloutBatch& batch);
Result<RolloutBatch> decode_batch(ByteSpan bytes, const WireLimits& limits = {});

}  // namespace swarmd::rl
