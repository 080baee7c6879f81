#pragma once
// Error codes of the gossipsub router: why an RPC or message was refused and why a peer was
// dropped. Every Disconnect action carries one of these.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net::gossipsub {

enum class Errc {
    rpc_too_large = 1,
    bad_length_prefix,
    malformed_rpc,
    unknown_peer,
    message_too_large,
    missing_signature,
    invalid_signature,
    bad_seqno,
    bad_author,
    key_mismatch,
    self_origin,
    not_subscribed,
    outbound_queue_full,
    graylisted,
    topic_too_long,
};

const std::error_category& gossipsub_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), gossipsub_category()};
}

}  // namespace swarmd::net::gossipsub

SWARMD_ERROR_CODE_ENUM(swarmd::net::gossipsub::Errc);
