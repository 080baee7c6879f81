#include "node/core/voters.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/ip/address.hpp>

#include "net/host.hpp"

namespace swarmd::node {

AddressOf connected_address_of(const net::Host& host) {
    return [&host](const crypto::PeerId& peer) -> std::optional<std::string> {
        auto connection = host.connection_to(peer);
        if (!connection) return std::nullopt;
        auto endpoint = connection->remote_addr().tcp_endpoint();
        return endpoint ? endpoint->host : std::string();
    };
}

std::vector<crypto::PeerId> select_voters(std::vector<crypto::PeerId> peers,
                                          const AddressOf& address_of, const ScoreOf& score_of) {
    std::sort(peers.begin(), peers.end());
    std::vector<crypto::PeerId> out;
    std::set<std::string> addresses;
    for (auto& peer : peers) {
        const auto address = address_of(peer);
        if (!address || score_of(peer) < 0) continue;
        boost::system::error_code ec;
        const auto ip = boost::asio::ip::make_address(*address, ec);
        const bool loopback = !ec && ip.is_loopback();
        if (!loopback && !addresses.insert(*address).second) continue;
        out.push_back(std::move(peer));
    }
    return out;
}

}  // namespace swarmd::node
