#pragma once
// What the host was doing when a connection or stream failed. Protocol-level reasons are
// net::Errc (net/error.hpp); socket failures keep Asio's system error codes. A failure is always
// reported as (code, phase, peer) in one log line.
#include <string_view>
#include <system_error>

#include "base/error_category.hpp"

namespace swarmd::net {

enum class Phase {
    listen,
    dial,                  // TCP connect
    pnet_handshake,        // private network: the nonce exchange on the raw socket
    security_negotiation,  // multistream-select for /noise on the raw socket
    noise_handshake,
    muxer_negotiation,   // multistream-select for /yamux/1.0.0 inside Noise
    session,             // the yamux session once established
    stream_negotiation,  // multistream-select on a new stream
    identify,
    ping,
};

std::string_view phase_name(Phase phase) noexcept;

// Host-level failures that are neither protocol nor socket errors.
enum class HostErrc {
    unsupported_address = 1,  // not /ip4|ip6/<ip>/tcp/<port>[/p2p/<id>]
    missing_peer_id,          // an operation needs the /p2p/ component
    dial_self,
    host_stopped,
    no_connection,
};

const std::error_category& host_category() noexcept;

inline std::error_code make_error_code(HostErrc e) noexcept {
    return {static_cast<int>(e), host_category()};
}

// A failure and the phase it happened in.
struct PhaseError {
    std::error_code code;
    Phase phase;
};

}  // namespace swarmd::net

SWARMD_ERROR_CODE_ENUM(swarmd::net::HostErrc);
