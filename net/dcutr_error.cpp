#include "net/dcutr_error.hpp"

namespace swarmd::net::dcutr {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::message_too_large:
            return "dcutr message larger than the maximum message size";
        case Errc::malformed_message:
            return "dcutr message is not a valid protobuf";
        case Errc::missing_type:
            return "dcutr message without a type";
        case Errc::unknown_message_type:
            return "dcutr message type is not one the spec defines";
        case Errc::bad_multiaddr:
            return "dcutr address is not a valid multiaddr";
        case Errc::too_many_addrs:
            return "dcutr message carries more addresses than the limit";
        case Errc::unexpected_message:
            return "dcutr message is not the one expected here";
        case Errc::no_dialable_addrs:
            return "dcutr peer offered no address a direct dial can use";
        case Errc::punch_failed:
            return "dcutr hole punch made no direct connection";
        case Errc::timeout:
            return "dcutr exchange timed out";
    }
    return nullptr;
}

}  // namespace

const std::error_category& dcutr_category() noexcept {
    static const EnumCategory<Errc> category("dcutr", describe);
    return category;
}

}  // namespace swarmd::net::dcutr
