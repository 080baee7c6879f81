#pragma once
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::bootstrap {

enum class Errc {
    dns_timeout = 1,
    dns_name_not_found,
    dns_server_failure,
    dns_refused,
    dns_malformed_response,
    dns_truncated,
    dns_bad_name,
    dns_no_server,
    dnsaddr_loop,
    dnsaddr_too_deep,
    dnsaddr_no_records,
    dnsaddr_too_many_records,
    bad_peer_list,
    bad_peer_store,
    different_swarm,
    rejected_low_score,
    bad_hello,
    bad_peer_exchange,
    dht_only_peer,
};

const std::error_category& bootstrap_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), bootstrap_category()};
}

}  // namespace swarmd::bootstrap

SWARMD_ERROR_CODE_ENUM(swarmd::bootstrap::Errc);
