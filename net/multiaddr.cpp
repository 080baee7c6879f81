#include "net/multiaddr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "base/endian.hpp"
#include "base/varint.hpp"
#include "net/error.hpp"

namespace swarmd::net {
namespace {

constexpr int kVariableSize = -1;

struct ProtocolSpec {
    Protocol protocol;
    std::string_view name;
    int size;  // value bytes; 0 = no value, kVariableSize = uvarint length prefix
};

constexpr std::array kProtocols{
    ProtocolSpec{Protocol::ip4, "ip4", 4},
    ProtocolSpec{Protocol::tcp, "tcp", 2},
    ProtocolSpec{Protocol::ip6, "ip6", 16},
    ProtocolSpec{Protocol::dns, "dns", kVariableSize},
    ProtocolSpec{Protocol::dns4, "dns4", kVariableSize},
    ProtocolSpec{Protocol::dns6, "dns6", kVariableSize},
    ProtocolSpec{Protocol::dnsaddr, "dnsaddr", kVariableSize},
    ProtocolSpec{Protocol::udp, "udp", 2},
    ProtocolSpec{Protocol::p2p_circuit, "p2p-circuit", 0},
    ProtocolSpec{Protocol::p2p, "p2p", kVariableSize},
    ProtocolSpec{Protocol::quic_v1, "quic-v1", 0},
    ProtocolSpec{Protocol::ws, "ws", 0},
    ProtocolSpec{Protocol::wss, "wss", 0},
};

const ProtocolSpec* find_spec(std::uint64_t code) {
    for (const auto& s : kProtocols) {
        if (static_cast<std::uint64_t>(s.protocol) == code) return &s;
    }
    return nullptr;
}

const ProtocolSpec* find_spec(std::string_view name) {
    if (name == "ipfs") name = "p2p";  // legacy alias with the same code
    for (const auto& s : kProtocols) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

const ProtocolSpec& spec_of(Protocol p) {
    // Every Protocol enumerator has a table entry.
    return *find_spec(static_cast<std::uint64_t>(p));
}

bool is_dns(Protocol p) {
    return p == Protocol::dns || p == Protocol::dns4 || p == Protocol::dns6 ||
           p == Protocol::dnsaddr;
}

bool is_port(Protocol p) { return p == Protocol::tcp || p == Protocol::udp; }

// A DNS name must survive the text form: no '/', no control characters, bounded length.
bool valid_dns_name(ByteSpan name) {
    if (name.empty() || name.size() > Multiaddr::kMaxDnsNameSize) return false;
    for (std::uint8_t c : name) {
        if (c < 0x21 || c == 0x7f || c == '/') return false;
    }
    return true;
}

Result<Bytes> parse_value(Protocol p, std::string_view text) {
    Bytes out;
    if (p == Protocol::ip4 || p == Protocol::ip6) {
        const std::string z(text);  // inet_pton needs a terminated string
        std::array<std::uint8_t, 16> buf{};
        const int family = p == Protocol::ip4 ? AF_INET : AF_INET6;
        if (text.empty() || inet_pton(family, z.c_str(), buf.data()) != 1) {
            return Errc::bad_ip_address;
        }
        out.assign(buf.begin(), buf.begin() + (p == Protocol::ip4 ? 4 : 16));
    } else if (is_port(p)) {
        unsigned port = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, port);
        if (text.empty() || text.size() > 5 || ec != std::errc{} || ptr != end || port > 65535) {
            return Errc::bad_port;
        }
        out.clear();
        append_be(out, port, 2);
    } else if (is_dns(p)) {
        if (!valid_dns_name(as_bytes(text))) return Errc::bad_dns_name;
        out.assign(text.begin(), text.end());
    } else if (p == Protocol::p2p) {
        auto id = crypto::PeerId::parse(text);
        if (!id) return Errc::bad_peer_id;
        out = id.value().bytes();
    }
    return out;
}

// Checks a binary value taken from the wire; sizes were checked by the caller.
Result<void> check_value(Protocol p, ByteSpan value) {
    if (is_dns(p) && !valid_dns_name(value)) return Errc::bad_dns_name;
    if (p == Protocol::p2p && !crypto::PeerId::from_bytes(value)) return Errc::bad_peer_id;
    return success();
}

std::string value_to_string(Protocol p, const Bytes& value) {
    if (p == Protocol::ip4 || p == Protocol::ip6) {
        char buf[INET6_ADDRSTRLEN] = {};
        inet_ntop(p == Protocol::ip4 ? AF_INET : AF_INET6, value.data(), buf, sizeof buf);
        return buf;
    }
    if (is_port(p)) return std::to_string(load_be<std::uint16_t>(value.data()));
    if (is_dns(p)) return std::string(as_string_view(value));
    if (p == Protocol::p2p) return crypto::PeerId::from_bytes(value).value().to_base58();
    return {};
}

}  // namespace

std::string_view protocol_name(Protocol p) noexcept {
    const auto* s = find_spec(static_cast<std::uint64_t>(p));
    return s ? s->name : std::string_view("unknown");
}

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
    if (text.size() > kMaxTextSize) return Errc::multiaddr_too_large;
    if (text.empty() || text.front() != '/') return Errc::malformed_multiaddr;
    if (text.size() > 1 && text.back() == '/') text.remove_suffix(1);
    text.remove_prefix(1);
    if (text.empty()) return Errc::malformed_multiaddr;

    auto next_token = [&text]() -> std::optional<std::string_view> {
        if (text.empty()) return std::nullopt;
        const auto slash = text.find('/');
        std::string_view token = text.substr(0, slash);
        text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
        return token;
    };

    Multiaddr ma;
    std::size_t binary_size = 0;
    while (auto name = next_token()) {
        if (name->empty()) return Errc::malformed_multiaddr;  // "//"
        const ProtocolSpec* spec = find_spec(*name);
        if (!spec) return Errc::unknown_protocol;
        MultiaddrComponent c{spec->protocol, {}};
        if (spec->size != 0) {
            auto value = next_token();
            if (!value || value->empty()) return Errc::malformed_multiaddr;
            BOOST_OUTCOME_TRY(bytes, parse_value(spec->protocol, *value));
            c.value = std::move(bytes);
        }
        binary_size += varint_size(static_cast<std::uint64_t>(c.protocol)) + c.value.size();
        if (spec->size == kVariableSize) binary_size += varint_size(c.value.size());
        if (binary_size > kMaxBinarySize) return Errc::multiaddr_too_large;
        ma.m_components.push_back(std::move(c));
    }
    return ma;
}

Result<Multiaddr> Multiaddr::from_bytes(ByteSpan in) {
    if (in.size() > kMaxBinarySize) return Errc::multiaddr_too_large;
    if (in.empty()) return Errc::malformed_multiaddr;
    Multiaddr ma;
    while (!in.empty()) {
        const auto code = varint_decode(in);
        if (code.status == VarintStatus::incomplete) return Errc::truncated_multiaddr;
        if (code.status != VarintStatus::ok) return Errc::malformed_multiaddr;
        const ProtocolSpec* spec = find_spec(code.value);
        if (!spec) return Errc::unknown_protocol;
        in = in.subspan(code.length);
        std::size_t size = 0;
        if (spec->size == kVariableSize) {
            const auto len = varint_decode(in);
            if (len.status == VarintStatus::incomplete) return Errc::truncated_multiaddr;
            if (len.status != VarintStatus::ok) return Errc::malformed_multiaddr;
            in = in.subspan(len.length);
            if (len.value > in.size()) return Errc::truncated_multiaddr;
            size = static_cast<std::size_t>(len.value);
        } else {
            size = static_cast<std::size_t>(spec->size);
            if (size > in.size()) return Errc::truncated_multiaddr;
        }
        const ByteSpan value = in.first(size);
        BOOST_OUTCOME_TRYV(check_value(spec->protocol, value));
        ma.m_components.push_back({spec->protocol, Bytes(value.begin(), value.end())});
        in = in.subspan(size);
    }
    return ma;
}

Result<Multiaddr> Multiaddr::from_ip_tcp(std::string_view ip, std::uint16_t port) {
    const Protocol p = ip.find(':') == std::string_view::npos ? Protocol::ip4 : Protocol::ip6;
    BOOST_OUTCOME_TRY(addr, parse_value(p, ip));
    Multiaddr ma;
    ma.m_components.push_back({p, std::move(addr)});
    Bytes port_bytes;
    append_be(port_bytes, port);
    ma.m_components.push_back({Protocol::tcp, std::move(port_bytes)});
    return ma;
}

std::string Multiaddr::to_string() const {
    std::string out;
    for (const auto& c : m_components) {
        out += '/';
        out += protocol_name(c.protocol);
        if (spec_of(c.protocol).size != 0) {
            out += '/';
            out += value_to_string(c.protocol, c.value);
        }
    }
    return out;
}

Bytes Multiaddr::to_bytes() const {
    Bytes out;
    for (const auto& c : m_components) {
        varint_append(out, static_cast<std::uint64_t>(c.protocol));
        if (spec_of(c.protocol).size == kVariableSize) varint_append(out, c.value.size());
        append(out, c.value);
    }
    return out;
}

std::optional<crypto::PeerId> Multiaddr::peer_id() const {
    if (m_components.empty() || m_components.back().protocol != Protocol::p2p) {
        return std::nullopt;
    }
    auto id = crypto::PeerId::from_bytes(m_components.back().value);
    if (!id) return std::nullopt;
    return id.value();
}

Multiaddr Multiaddr::with_peer_id(const crypto::PeerId& id) const {
    Multiaddr ma = without_peer_id();
    ma.m_components.push_back({Protocol::p2p, id.bytes()});
    return ma;
}

Multiaddr Multiaddr::without_peer_id() const {
    Multiaddr ma = *this;
    if (!ma.m_components.empty() && ma.m_components.back().protocol == Protocol::p2p) {
        ma.m_components.pop_back();
    }
    return ma;
}

std::optional<TcpEndpoint> Multiaddr::tcp_endpoint() const {
    if (m_components.size() < 2 || m_components[1].protocol != Protocol::tcp) return std::nullopt;
    const auto& host = m_components[0];
    if (host.protocol != Protocol::ip4 && host.protocol != Protocol::ip6 &&
        host.protocol != Protocol::dns && host.protocol != Protocol::dns4 &&
        host.protocol != Protocol::dns6) {
        return std::nullopt;
    }
    const auto& port = m_components[1].value;
    return TcpEndpoint{host.protocol, value_to_string(host.protocol, host.value),
                       load_be<std::uint16_t>(port.data())};
}

Multiaddr Multiaddr::encapsulate(const Multiaddr& other) const {
    Multiaddr ma = *this;
    ma.m_components.insert(ma.m_components.end(), other.m_components.begin(),
                           other.m_components.end());
    return ma;
}

Multiaddr Multiaddr::prefix(std::size_t count) const {
    Multiaddr ma;
    const auto n = static_cast<std::ptrdiff_t>(std::min(count, m_components.size()));
    ma.m_components.assign(m_components.begin(), m_components.begin() + n);
    return ma;
}

}  // namespace swarmd::net
