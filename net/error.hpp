#pragma once
// The net module's error codes. Every failure of a protocol core (malformed input from a peer,
// a violated limit, a failed authentication) maps to one of these, so a closed connection always
// carries a typed reason.
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net {

enum class Errc {
    // multiaddr
    malformed_multiaddr = 1,
    unknown_protocol,
    bad_ip_address,
    bad_port,
    bad_dns_name,
    bad_peer_id,
    truncated_multiaddr,
    multiaddr_too_large,
    // framing, shared by every length-prefixed decoder
    message_too_large,
    truncated_message,
    bad_varint,
    // multistream-select
    bad_multistream_header,
    protocol_not_supported,
    // noise
    bad_handshake_message,
    bad_handshake_payload,
    bad_aead_tag,
    bad_signature,
    unsupported_key_type,
    peer_id_mismatch,
    low_order_key,
    nonce_exhausted,
    // yamux and generic protocol state
    protocol_error,
    bad_frame_version,
    bad_frame_type,
    window_exceeded,
    too_many_streams,
    unknown_stream,
    stream_closed,
    stream_reset,
    session_closed,
    go_away_received,
    // lifecycle and resources, for the host
    timeout,
    connection_closed,
    connection_limit,
    dial_backoff,
    invalid_state,
    // signed peer records (RFC 0002/0003)
    bad_record_type,
    stale_record,
    // resource limits a hostile peer runs into
    peer_not_reading,
    inbound_budget,
    address_limit,
    // private networks (pnet)
    private_network_mismatch,
    // an authenticated peer this host does not admit (ConnectionOptions::allow_peers)
    peer_not_allowed,
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), net_category()};
}

}  // namespace swarmd::net

SWARMD_ERROR_CODE_ENUM(swarmd::net::Errc);
