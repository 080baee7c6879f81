#include "rl/error.hpp"

#include <string>

namespace swarmd::rl {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::unknown_family:
            return "unknown task family";
        case Errc::bad_level:
            return "task level out of range";
        case Errc::batch_too_large:
            return "rollout batch exceeds the size cap";
        case Errc::malformed_batch:
            return "rollout batch is not a valid protobuf message";
        case Errc::too_many_groups:
            return "rollout batch has too many groups";
        case Errc::too_many_completions:
            return "rollout group has too many or too few completions";
        case Errc::completion_too_long:
            return "completion exceeds the token cap";
        case Errc::bad_token:
            return "completion holds a token outside the vocabulary";
        case Errc::logprob_count_mismatch:
            return "log-probability count differs from token count";
        case Errc::bad_logprob:
            return "log-probability is not finite or is positive";
        case Errc::bad_reward:
            return "claimed reward is not finite";
        case Errc::bad_author:
            return "author id missing or too long";
        case Errc::checkpoint_io:
            return "cannot read or write policy checkpoint";
        case Errc::checkpoint_format:
            return "policy checkpoint is malformed";
        case Errc::text_not_in_vocabulary:
            return "text holds a character outside the vocabulary";
    }
    return nullptr;
}

}  // namespace

const std::error_category& rl_category() noexcept {
    static const EnumCategory<Errc> category("rl", describe);
    return category;
}

}  // namespace swarmd::rl
