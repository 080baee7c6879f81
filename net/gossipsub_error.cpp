#include "net/gossipsub_error.hpp"

#include <string>

namespace swarmd::net::gossipsub {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::rpc_too_large:
            return "RPC larger than the maximum RPC size";
        case Errc::bad_length_prefix:
            return "malformed RPC length prefix";
        case Errc::malformed_rpc:
            return "RPC is not a valid protobuf";
        case Errc::unknown_peer:
            return "peer is not attached to the router";
        case Errc::message_too_large:
            return "message does not fit in one RPC";
        case Errc::missing_signature:
            return "message lacks from, seqno or signature";
        case Errc::invalid_signature:
            return "message signature does not verify";
        case Errc::bad_seqno:
            return "message seqno is not 8 bytes";
        case Errc::bad_author:
            return "message author is not a valid Ed25519 peer id";
        case Errc::key_mismatch:
            return "message key does not match its author";
        case Errc::self_origin:
            return "message claims to be ours but we did not publish it";
        case Errc::not_subscribed:
            return "not subscribed to the topic";
        case Errc::outbound_queue_full:
            return "peer's outbound queue exceeded its cap";
        case Errc::graylisted:
            return "peer score below the graylist threshold";
        case Errc::topic_too_long:
            return "topic name longer than the limit";
    }
    return nullptr;
}

}  // namespace

const std::error_category& gossipsub_category() noexcept {
    static const EnumCategory<Errc> category("gossipsub", describe);
    return category;
}

}  // namespace swarmd::net::gossipsub
