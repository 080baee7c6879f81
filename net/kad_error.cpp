#include "net/kad_error.hpp"

namespace swarmd::net::kad {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::message_too_large:
            return "kad message larger than the maximum message size";
        case Errc::malformed_message:
            return "kad message is not a valid protobuf";
        case Errc::unknown_message_type:
            return "kad message type is not one the spec defines";
        case Errc::too_many_peers:
            return "kad message carries more peers than the limit";
        case Errc::too_many_addrs:
            return "kad peer carries more addresses than the limit";
        case Errc::key_too_long:
            return "kad key longer than the limit";
        case Errc::missing_key:
            return "kad request lacks the key it needs";
        case Errc::bad_peer_id:
            return "kad peer id is not a valid multihash";
        case Errc::bad_multiaddr:
            return "kad peer address is not a valid multiaddr";
        case Errc::record_too_large:
            return "kad record larger than the limit";
        case Errc::unexpected_response:
            return "kad response does not match the request";
        case Errc::provider_not_sender:
            return "ADD_PROVIDER names a provider other than its sender";
        case Errc::unsupported_request:
            return "kad request type not served";
        case Errc::provider_store_full:
            return "provider store reached its total cap";
        case Errc::too_many_providers_for_key:
            return "provider store reached its cap for this key";
        case Errc::timeout:
            return "kad request timed out";
        case Errc::no_peers:
            return "no kad server peer known or reachable";
    }
    return nullptr;
}

}  // namespace

const std::error_category& kad_category() noexcept {
    static const EnumCategory<Errc> category("kad", describe);
    return category;
}

}  // namespace swarmd::net::kad
