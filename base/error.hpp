#pragma once
// Error codes of the base library's decoders (text encodings).
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd {

enum class EncodingErrc {
    too_long = 1,  // over kMaxEncodedLength
    bad_base58,
    bad_base32,
    bad_hex,
};

const std::error_category& encoding_category() noexcept;

inline std::error_code make_error_code(EncodingErrc e) noexcept {
    return {static_cast<int>(e), encoding_category()};
}

}  // namespace swarmd

SWARMD_ERROR_CODE_ENUM(swarmd::EncodingErrc);
