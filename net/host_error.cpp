#include "net/host_error.hpp"

#include <string>

namespace swarmd::net {

std::string_view phase_name(Phase phase) noexcept {
    switch (phase) {
        case Phase::listen:
            return "listen";
        case Phase::dial:
            return "dial";
        case Phase::pnet_handshake:
            return "pnet-handshake";
        case Phase::security_negotiation:
            return "security-negotiation";
        case Phase::noise_handshake:
            return "noise-handshake";
        case Phase::muxer_negotiation:
            return "muxer-negotiation";
        case Phase::session:
            return "session";
        case Phase::stream_negotiation:
            return "stream-negotiation";
        case Phase::identify:
            return "identify";
        case Phase::ping:
            return "ping";
    }
    return "unknown";
}

namespace {

const char* describe(HostErrc e) noexcept {
    switch (e) {
        case HostErrc::unsupported_address:
            return "unsupported address (expected /ip4|ip6/<ip>/tcp/<port>[/p2p/<id>])";
        case HostErrc::missing_peer_id:
            return "the address has no /p2p/<peer id>";
        case HostErrc::dial_self:
            return "refusing to dial our own peer id";
        case HostErrc::host_stopped:
            return "the host is stopped";
        case HostErrc::no_connection:
            return "no connection to that peer";
    }
    return nullptr;
}

}  // namespace

const std::error_category& host_category() noexcept {
    static const EnumCategory<HostErrc> category("swarmd.host", describe);
    return category;
}

}  // namespace swarmd::net
