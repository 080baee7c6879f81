#include "net/error.hpp"

#include <string>

namespace swarmd::net {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::malformed_multiaddr:
            return "malformed multiaddr";
        case Errc::unknown_protocol:
            return "unknown multiaddr protocol";
        case Errc::bad_ip_address:
            return "invalid IP address in multiaddr";
        case Errc::bad_port:
            return "invalid port in multiaddr (0-65535)";
        case Errc::bad_dns_name:
            return "invalid DNS name in multiaddr";
        case Errc::bad_peer_id:
            return "invalid peer id in multiaddr";
        case Errc::truncated_multiaddr:
            return "truncated binary multiaddr";
        case Errc::multiaddr_too_large:
            return "multiaddr exceeds the size limit";
        case Errc::message_too_large:
            return "message exceeds the size limit";
        case Errc::truncated_message:
            return "truncated message";
        case Errc::bad_varint:
            return "malformed varint length prefix";
        case Errc::bad_multistream_header:
            return "peer did not send the multistream header";
        case Errc::protocol_not_supported:
            return "protocol not supported by the peer";
        case Errc::bad_handshake_message:
            return "malformed noise handshake message";
        case Errc::bad_handshake_payload:
            return "malformed noise handshake payload";
        case Errc::bad_aead_tag:
            return "AEAD authentication failed (bad tag)";
        case Errc::bad_signature:
            return "static key signature does not verify";
        case Errc::unsupported_key_type:
            return "unsupported identity key type";
        case Errc::peer_id_mismatch:
            return "remote peer id differs from the expected one";
        case Errc::low_order_key:
            return "remote DH key is a low-order point";
        case Errc::nonce_exhausted:
            return "noise nonce exhausted";
        case Errc::protocol_error:
            return "protocol error";
        case Errc::bad_frame_version:
            return "unsupported yamux version";
        case Errc::bad_frame_type:
            return "unknown yamux frame type";
        case Errc::window_exceeded:
            return "receive window exceeded";
        case Errc::too_many_streams:
            return "too many streams";
        case Errc::unknown_stream:
            return "unknown stream";
        case Errc::stream_closed:
            return "stream closed for writing";
        case Errc::stream_reset:
            return "stream reset";
        case Errc::session_closed:
            return "session closed";
        case Errc::go_away_received:
            return "peer sent go-away";
        case Errc::timeout:
            return "timed out";
        case Errc::connection_closed:
            return "connection closed";
        case Errc::connection_limit:
            return "connection limit reached";
        case Errc::dial_backoff:
            return "dial backoff in effect";
        case Errc::invalid_state:
            return "operation invalid in the current state";
        case Errc::bad_record_type:
            return "signed envelope does not hold a peer record";
        case Errc::stale_record:
            return "peer record is not newer than the one stored";
        case Errc::peer_not_reading:
            return "peer does not read: outbound queue over its limit";
        case Errc::inbound_budget:
            return "unread inbound data over the connection's budget";
        case Errc::address_limit:
            return "per-address connection limit reached";
        case Errc::private_network_mismatch:
            return "peer is not in this private network (another pre-shared key, or none)";
        case Errc::peer_not_allowed:
            return "peer is not on this node's allowlist";
    }
    return nullptr;
}

}  // namespace

const std::error_category& net_category() noexcept {
    static const EnumCategory<Errc> category("net", describe);
    return category;
}

}  // namespace swarmd::net
