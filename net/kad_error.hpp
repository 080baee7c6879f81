#pragma once
// Error codes of the Kademlia DHT: why a message was refused, a request rejected or a record not
// stored. Every closed kad stream carries one of these.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net::kad {

enum class Errc {
    message_too_large = 1,
    malformed_message,
    unknown_message_type,
    too_many_peers,
    too_many_addrs,
    key_too_long,
    missing_key,
    bad_peer_id,
    bad_multiaddr,
    record_too_large,
    unexpected_response,
    provider_not_sender,
    unsupported_request,
    provider_store_full,
    too_many_providers_for_key,
    timeout,
    no_peers,
};

const std::error_category& kad_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), kad_category()};
}

}  // namespace swarmd::net::kad

SWARMD_ERROR_CODE_ENUM(swarmd::net::kad::Errc);
