#pragma once
// Error codes of AutoNAT v1: why a message was refused or a check gave no answer.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net::autonat {

enum class Errc {
    message_too_large = 1,
    malformed_message,
    unknown_message_type,
    unknown_status,
    missing_dial,
    missing_dial_response,
    missing_status,
    bad_peer_id,
    bad_multiaddr,
    too_many_addrs,
    status_text_too_long,
    unexpected_message,
    timeout,
};

const std::error_category& autonat_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), autonat_category()};
}

}  // namespace swarmd::net::autonat

SWARMD_ERROR_CODE_ENUM(swarmd::net::autonat::Errc);
