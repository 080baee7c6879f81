#include "net/autonat_error.hpp"

namespace swarmd::net::autonat {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::message_too_large:
            return "autonat message larger than the maximum message size";
        case Errc::malformed_message:
            return "autonat message is not a valid protobuf";
        case Errc::unknown_message_type:
            return "autonat message type is not one the spec defines";
        case Errc::unknown_status:
            return "autonat response status is not one the spec defines";
        case Errc::missing_dial:
            return "autonat DIAL message without its dial field";
        case Errc::missing_dial_response:
            return "autonat DIAL_RESPONSE message without its dialResponse field";
        case Errc::missing_status:
            return "autonat dial response without a status";
        case Errc::bad_peer_id:
            return "autonat peer id is not a valid multihash";
        case Errc::bad_multiaddr:
            return "autonat address is not a valid multiaddr";
        case Errc::too_many_addrs:
            return "autonat dial request carries more addresses than the limit";
        case Errc::status_text_too_long:
            return "autonat status text longer than the limit";
        case Errc::unexpected_message:
            return "autonat message is not the one expected here";
        case Errc::timeout:
            return "autonat request timed out";
    }
    return nullptr;
}

}  // namespace

const std::error_category& autonat_category() noexcept {
    static const EnumCategory<Errc> category("autonat", describe);
    return category;
}

}  // namespace swarmd::net::autonat
