#pragma once
// Errors of the rl/ module: everything a peer, a file or a flag can get wrong.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::rl {

enum class Errc {
    unknown_family = 1,
    bad_level,
    batch_too_large,
    malformed_batch,
    too_many_groups,
    too_many_completions,
    completion_too_long,
    bad_token,
    logprob_count_mismatch,
    bad_logprob,
    bad_reward,
    bad_author,
    checkpoint_io,
    checkpoint_format,
    text_not_in_vocabulary,
};

const std::error_category& rl_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), rl_category()};
}

}  // namespace swarmd::rl

SWARMD_ERROR_CODE_ENUM(swarmd::rl::Errc);
