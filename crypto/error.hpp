#pragma once
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::crypto {

enum class Errc {
    bad_length = 1,
    bad_multibase,
    bad_multihash,
    bad_cid,
    unsupported_key_type,
    bad_public_key,
    bad_private_key,
    bad_signature,
    key_file_exists,
    key_file_io,
    key_file_permissions,
    decrypt_failed,
    low_order_point,
    key_too_large,
    rsa_key_too_small,
    bad_psk_header,
    bad_psk_encoding,
    bad_psk_key,
};

const std::error_category& crypto_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), crypto_category()};
}

}  // namespace swarmd::crypto

SWARMD_ERROR_CODE_ENUM(swarmd::crypto::Errc);
