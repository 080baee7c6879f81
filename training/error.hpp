#pragma once
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::training {

enum class Errc {
    io = 1,               // a file could not be read, written or synced
    bad_data_set,         // a data set file is malformed
    bad_update,           // an update record is malformed (author too long, ...)
    bad_checkpoint,       // a checkpoint's header, size or integrity hash is wrong
    checkpoint_mismatch,  // a checkpoint for a different model (parameter count or hash)
    unsupported_log,      // an update log written in another format version
};

const std::error_category& training_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), training_category()};
}

}  // namespace swarmd::training

SWARMD_ERROR_CODE_ENUM(swarmd::training::Errc);
