#pragma once
// Multiaddrs (multiformats/multiaddr): self-describing addresses such as
// /ip4/1.2.3.4/tcp/4001/p2p/12D3KooW..., in text form and in the binary form that travels in
// identify messages: (uvarint code || value)+. Supported protocols: ip4, ip6, dns, dns4, dns6,
// dnsaddr, tcp, udp, p2p (/ipfs is parsed as p2p), quic-v1, ws, wss, p2p-circuit.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {

enum class Protocol : std::uint32_t {
    ip4 = 0x04,
    tcp = 0x06,
    ip6 = 0x29,
    dns = 0x35,
    dns4 = 0x36,
    dns6 = 0x37,
    dnsaddr = 0x38,
    udp = 0x0111,
    p2p_circuit = 0x0122,
    p2p = 0x01a5,
    quic_v1 = 0x01cd,
    ws = 0x01dd,
    wss = 0x01de,
};

// The protocol's text name ("ip4", "p2p-circuit", ...).
std::string_view protocol_name(Protocol p) noexcept;

struct MultiaddrComponent {
    Protocol protocol;
    Bytes value;  // binary value, without the length prefix of variable-size protocols

    friend bool operator==(const MultiaddrComponent&, const MultiaddrComponent&) = default;
    friend auto operator<=>(const MultiaddrComponent&, const MultiaddrComponent&) = default;
};

// Where a TCP multiaddr points: an IP literal or a DNS name, and a port.
struct TcpEndpoint {
    Protocol host_protocol;  // ip4, ip6, dns, dns4 or dns6
    std::string host;        // "1.2.3.4", "::1" or "example.com"
    std::uint16_t port;
};

class Multiaddr {
  public:
    // Limits checked before anything is allocated.
    static constexpr std::size_t kMaxBinarySize = 1024;
    // Any binary multiaddr within the limit prints within this (/p2p-circuit: 2 bytes -> 12
    // characters), so text and binary forms convert both ways.
    static constexpr std::size_t kMaxTextSize = 8 * kMaxBinarySize;
    static constexpr std::size_t kMaxDnsNameSize = 255;

    static Result<Multiaddr> parse(std::string_view text);
    static Result<Multiaddr> from_bytes(ByteSpan binary);
    // /ip4/<ip>/tcp/<port> or /ip6/<ip>/tcp/<port>, chosen by the literal's form.
    static Result<Multiaddr> from_ip_tcp(std::string_view ip, std::uint16_t port);

    std::string to_string() const;
    Bytes to_bytes() const;
    const std::vector<MultiaddrComponent>& components() const noexcept { return m_components; }
    bool empty() const noexcept { return m_components.empty(); }

    // The peer id of the trailing /p2p component, if there is one.
    std::optional<crypto::PeerId> peer_id() const;
    // This address with its trailing /p2p component replaced by (or extended with) `id`.
    Multiaddr with_peer_id(const crypto::PeerId& id) const;
    // This address without a trailing /p2p component.
    Multiaddr without_peer_id() const;
    // Host and port when the address starts with /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>.
    std::optional<TcpEndpoint> tcp_endpoint() const;
    // Appends the components of `other`.
    Multiaddr encapsulate(const Multiaddr& other) const;
    // The first `count` components (all of them if there are fewer).
    Multiaddr prefix(std::size_t count) const;

    friend bool operator==(const Multiaddr&, const Multiaddr&) = default;
    friend auto operator<=>(const Multiaddr& a, const Multiaddr& b) {
        return a.m_components <=> b.m_components;
    }

  private:
    std::vector<MultiaddrComponent> m_components;
};

}  // namespace swarmd::net
