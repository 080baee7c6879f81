#include "net/relay_error.hpp"

namespace swarmd::net::relay {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::message_too_large:
            return "relay message larger than the maximum message size";
        case Errc::malformed_message:
            return "relay message is not a valid protobuf";
        case Errc::unknown_message_type:
            return "relay message type is not one the spec defines";
        case Errc::missing_field:
            return "relay message lacks a field its type needs";
        case Errc::bad_peer_id:
            return "relay peer id is not a valid multihash";
        case Errc::too_many_addrs:
            return "relay message carries more addresses than the limit";
        case Errc::voucher_too_large:
            return "reservation voucher larger than a signed envelope may be";
        case Errc::bad_voucher:
            return "reservation voucher payload is not a valid voucher";
        case Errc::voucher_mismatch:
            return "reservation voucher names another relay, peer or expiration";
        case Errc::reservation_expired:
            return "reservation expired";
        case Errc::unexpected_message:
            return "relay message of a type not expected here";
        case Errc::not_a_circuit_address:
            return "address is not <relay>/p2p/<relay id>/p2p-circuit/p2p/<target id>";
        case Errc::over_relayed_connection:
            return "relay requests are not served over a relayed connection";
        case Errc::circuit_limit_reached:
            return "relayed connection reached its duration or data limit";
    }
    return nullptr;
}

const char* describe_status(Status s) noexcept {
    switch (s) {
        case Status::unused:
            return "relay answered without a status";
        case Status::ok:
            return "relay status OK";
        case Status::reservation_refused:
            return "relay refused the reservation (RESERVATION_REFUSED)";
        case Status::resource_limit_exceeded:
            return "relay resource limit exceeded (RESOURCE_LIMIT_EXCEEDED)";
        case Status::permission_denied:
            return "relay denied permission (PERMISSION_DENIED)";
        case Status::connection_failed:
            return "relayed connection to the target failed (CONNECTION_FAILED)";
        case Status::no_reservation:
            return "target has no reservation on the relay (NO_RESERVATION)";
        case Status::malformed_message:
            return "relay peer found our message malformed (MALFORMED_MESSAGE)";
        case Status::unexpected_message:
            return "relay peer did not expect our message (UNEXPECTED_MESSAGE)";
    }
    return nullptr;
}

}  // namespace

const char* status_name(Status status) noexcept {
    switch (status) {
        case Status::unused:
            return "UNUSED";
        case Status::ok:
            return "OK";
        case Status::reservation_refused:
            return "RESERVATION_REFUSED";
        case Status::resource_limit_exceeded:
            return "RESOURCE_LIMIT_EXCEEDED";
        case Status::permission_denied:
            return "PERMISSION_DENIED";
        case Status::connection_failed:
            return "CONNECTION_FAILED";
        case Status::no_reservation:
            return "NO_RESERVATION";
        case Status::malformed_message:
            return "MALFORMED_MESSAGE";
        case Status::unexpected_message:
            return "UNEXPECTED_MESSAGE";
    }
    return "UNKNOWN";
}

const std::error_category& relay_category() noexcept {
    static const EnumCategory<Errc> category("relay", describe);
    return category;
}

const std::error_category& relay_status_category() noexcept {
    static const EnumCategory<Status> category("relay status", describe_status);
    return category;
}

}  // namespace swarmd::net::relay
