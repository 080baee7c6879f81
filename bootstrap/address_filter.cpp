#include "bootstrap/address_filter.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace swarmd::bootstrap {
namespace {

bool in_v4(std::uint32_t ip, std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (ip & mask) == (net & mask);
}

}  // namespace

Scope scope_of_host(const std::string& host) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    if (ec) return Scope::public_net;
    if (ip.is_v6() && ip.to_v6().is_v4_mapped())
        ip = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6());
    if (ip.is_loopback()) return Scope::loopback;
    if (ip.is_v4()) {
        const std::uint32_t v = ip.to_v4().to_uint();
        if (in_v4(v, 0x0a000000, 8) || in_v4(v, 0xac100000, 12) || in_v4(v, 0xc0a80000, 16) ||
            in_v4(v, 0xa9fe0000, 16) || in_v4(v, 0x64400000, 10) || in_v4(v, 0x00000000, 8))
            return Scope::private_net;  // RFC 1918, link-local, CGNAT, "this network"
        return Scope::public_net;
    }
    const auto bytes = ip.to_v6().to_bytes();
    if ((bytes[0] & 0xfe) == 0xfc) return Scope::private_net;                      // fc00::/7
    if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) return Scope::private_net;  // fe80::/10
    return Scope::public_net;
}

Scope scope_of(const net::Multiaddr& addr) {
    auto endpoint = addr.tcp_endpoint();
    return endpoint ? scope_of_host(endpoint->host) : Scope::public_net;
}

bool learned_dialable(const net::Multiaddr& addr, Scope informant) {
    auto endpoint = addr.tcp_endpoint();
    if (!endpoint || endpoint->port < kMinLearnedPort) return false;
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(endpoint->host, ec);
    if (!ec && (ip.is_unspecified() || ip.is_multicast() ||
                (ip.is_v4() && ip.to_v4() == boost::asio::ip::address_v4::broadcast())))
        return false;
    return static_cast<int>(scope_of_host(endpoint->host)) >= static_cast<int>(informant);
}

std::vector<std::string> filter_learned(const std::vector<std::string>& addrs, Scope informant) {
    std::vector<std::string> out;
    for (const auto& text : addrs) {
        if (out.size() >= kMaxLearnedAddrs) break;
        auto addr = net::Multiaddr::parse(text);
        if (!addr || !learned_dialable(addr.value(), informant)) continue;
        if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
    }
    return out;
}

}  // namespace swarmd::bootstrap
