#pragma once
// Error codes of circuit relay v2: `Errc` for what this side found wrong (a message that does
// not decode, a voucher that does not verify, an address that is not a circuit address), and
// `Status`, the spec's status codes, which travel in STATUS messages and double as error codes when
// the other side refused (a reserve refused with RESERVATION_REFUSED fails with that Status).
#include <cstdint>
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net::relay {

enum class Errc {
    message_too_large = 1,
    malformed_message,
    unknown_message_type,
    missing_field,
    bad_peer_id,
    too_many_addrs,
    voucher_too_large,
    bad_voucher,
    voucher_mismatch,
    reservation_expired,
    unexpected_message,
    not_a_circuit_address,
    over_relayed_connection,
    circuit_limit_reached,
};

const std::error_category& relay_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), relay_category()};
}

// The spec's Status enum, by its wire values.
enum class Status : std::uint32_t {
    unused = 0,
    ok = 100,
    reservation_refused = 200,
    resource_limit_exceeded = 201,
    permission_denied = 202,
    connection_failed = 203,
    no_reservation = 204,
    malformed_message = 400,
    unexpected_message = 401,
};

// The spec's name of a status ("NO_RESERVATION"), "UNKNOWN" for a value it does not define.
const char* status_name(Status status) noexcept;

const std::error_category& relay_status_category() noexcept;

inline std::error_code make_error_code(Status s) noexcept {
    return {static_cast<int>(s), relay_status_category()};
}

}  // namespace swarmd::net::relay

SWARMD_ERROR_CODE_ENUM(swarmd::net::relay::Errc);
SWARMD_ERROR_CODE_ENUM(swarmd::net::relay::Status);
