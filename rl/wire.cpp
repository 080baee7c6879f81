#include "rl/wire.hpp"

#include <cmath>

#include "rl/error.hpp"
#include "rl/rollouts.pb.h"

namespace swarmd::rl {
namespace {

constexpr std::size_t kMaxTaskBytes = 64;

void fill_task(const TaskId& task, wire::Task& out) {
    out.set_family(static_cast<std::uint32_t>(task.family));
    out.set_level(task.level);
    out.set_seed(task.seed);
}

Result<TaskId> read_task(const wire::Task& in) {
    BOOST_OUTCOME_TRY(family, family_from_index(in.family()));
    if (in.level() >= kLevelCount) return Errc::bad_level;
    return TaskId{family, static_cast<std::uint8_t>(in.level()), in.seed()};
}

Result<Rollout> read_completion(const wire::Completion& in, const WireLimits& limits) {
    const std::string& raw = in.tokens();
    if (raw.empty() || raw.size() > limits.max_tokens) return Errc::completion_too_long;
    Rollout out;
    out.tokens.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const auto t = static_cast<Token>(raw[i]);
        const bool last = i + 1 == raw.size();
        const bool ok = (t >= 3 && t < kVocabSize) || (t == kEosToken && last);
        if (!ok) return Errc::bad_token;
        out.tokens.push_back(t);
    }
    if (static_cast<std::size_t>(in.logprobs_size()) != raw.size()) {
        return Errc::logprob_count_mismatch;
    }
    out.logprobs.assign(in.logprobs().begin(), in.logprobs().end());
    for (float lp : out.logprobs) {
        if (!std::isfinite(lp) || lp > 0.0f) return Errc::bad_logprob;
    }
    if (!std::isfinite(in.claimed_reward())) return Errc::bad_reward;
    out.claimed_reward = in.claimed_reward();
    return out;
}

}  // namespace

Bytes encode_task(const TaskId& task) {
    wire::Task msg;
    fill_task(task, msg);
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

Result<TaskId> decode_task(ByteSpan bytes) {
    if (bytes.size() > kMaxTaskBytes) return Errc::batch_too_large;
    wire::Task msg;
    if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return Errc::malformed_batch;
    }
    return read_task(msg);
}

Bytes encode_batch(const RolloutBatch& batch) {
    wire::RolloutBatch msg;
    msg.set_author(batch.author);
    msg.set_round(batch.round);
    for (const auto& group : batch.groups) {
        auto* g = msg.add_groups();
        fill_task(group.task, *g->mutable_task());
        for (const auto& rollout : group.completions) {
            auto* c = g->add_completions();
            c->set_tokens(std::string(rollout.tokens.begin(), rollout.tokens.end()));
            c->mutable_logprobs()->Add(rollout.logprobs.begin(), rollout.logprobs.end());
            c->set_claimed_reward(rollout.claimed_reward);
        }
    }
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

Result<RolloutBatch> decode_batch(ByteSpan bytes, const WireLimits& limits) {
    if (bytes.size() > limits.max_bytes) return Errc::batch_too_large;
    wire::RolloutBatch msg;
    if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return Errc::malformed_batch;
    }
    if (msg.author().empty() || msg.author().size() > limits.max_author_bytes) {
        return Errc::bad_author;
    }
    if (static_cast<std::size_t>(msg.groups_size()) > limits.max_groups) {
        return Errc::too_many_groups;
    }
    RolloutBatch out;
    out.author = msg.author();
    out.round = msg.round();
    out.groups.reserve(msg.groups_size());
    for (const auto& g : msg.groups()) {
        const auto n = static_cast<std::size_t>(g.completions_size());
        if (n < 2 || n > limits.max_completions) return Errc::too_many_completions;
        if (!g.has_task()) return Errc::malformed_batch;
        RolloutGroup group;
        BOOST_OUTCOME_TRY(task, read_task(g.task()));
        group.task = task;
        group.completions.reserve(n);
        for (const auto& c : g.completions()) {
            BOOST_OUTCOME_TRY(rollout, read_completion(c, limits));
            group.completions.push_back(std::move(rollout));
        }
        out.groups.push_back(std::move(group));
    }
    return out;
}

}  // namespace swarmd::rl
