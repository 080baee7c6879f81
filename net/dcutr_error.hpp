#pragma once
// Error codes of DCUtR (direct connection upgrade through relay): why a hole-punch message was
// refused or an upgrade did not happen.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net::dcutr {

enum class Errc {
    message_too_large = 1,
    malformed_message,
    missing_type,
    unknown_message_type,
    bad_multiaddr,
    too_many_addrs,
    unexpected_message,
    no_dialable_addrs,
    punch_failed,
    timeout,
};

const std::error_category& dcutr_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), dcutr_category()};
}

}  // namespace swarmd::net::dcutr

SWARMD_ERROR_CODE_ENUM(swarmd::net::dcutr::Errc);
