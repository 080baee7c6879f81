#include "net/interface_addrs.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <boost/asio/ip/address.hpp>

namespace swarmd::net {

std::vector<Multiaddr> dialable_addrs(const Multiaddr& bound) {
    const auto endpoint = bound.tcp_endpoint();
    if (!endpoint || endpoint->host != "0.0.0.0") return {bound};
    const auto peer = bound.peer_id();
    std::vector<Multiaddr> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return {bound};
    for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
        const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
        const boost::asio::ip::address_v4 ip(ntohl(in->sin_addr.s_addr));
        if (auto addr = Multiaddr::from_ip_tcp(ip.to_string(), endpoint->port))
            out.push_back(peer ? addr.value().with_peer_id(*peer) : addr.value());
    }
    freeifaddrs(list);
    return out.empty() ? std::vector<Multiaddr>{bound} : out;
}

std::vector<Multiaddr> announced_addrs(const std::vector<Multiaddr>& listen) {
    std::vector<Multiaddr> all;
    for (const auto& a : listen) {
        for (auto& d : dialable_addrs(a)) all.push_back(std::move(d));
    }
    std::vector<Multiaddr> out;
    for (const auto& a : all) {
        const auto endpoint = a.tcp_endpoint();
        boost::system::error_code ec;
        const auto ip = endpoint ? boost::asio::ip::make_address(endpoint->host, ec)
                                 : boost::asio::ip::address{};
        if (endpoint && !ec && (ip.is_loopback() || ip.is_unspecified())) continue;
        out.push_back(a);
    }
    return out.empty() ? all : out;
}

}  // namespace swarmd::net
