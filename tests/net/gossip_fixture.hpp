#pragma once
// A swarmd host with gossipsub on a loopback port, wired as the daemon wires them (identify hands
// gossipsub peers to the router, a closed connection removes them); shared by the pubsub and the
// js-libp2p interop tests.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/host.hpp"
#include "net/pubsub.hpp"

namespace swarmd::net::testing {

struct GossipNode {
    explicit GossipNode(boost::asio::io_context& io,
                        std::chrono::milliseconds heartbeat = std::chrono::milliseconds(50))
        : key(crypto::PrivateKey::generate()) {
        host = std::make_unique<Host>(io.get_executor(),
                                      crypto::PrivateKey::from_protobuf(key.to_protobuf()).value());
        gossipsub::Options options;
        options.heartbeat_interval = heartbeat;
        pubsub = std::make_shared<Pubsub>(io.get_executor(), *host, std::move(key), options);
        host->on_identify([this](const std::shared_ptr<Connection>& c, const IdentifyInfo& info) {
            pubsub->peer_identified(c, info);
        });
        host->on_connection_closed([this](const std::shared_ptr<Connection>& c) {
            pubsub->peer_closed(c->remote_peer());
        });
        addr = host->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        pubsub->start();
    }
    ~GossipNode() {
        pubsub->stop();
        host->stop();
    }
    // Subscribes and keeps every payload received, in arrival order.
    void subscribe(const std::string& topic) {
        pubsub->subscribe(topic, [this](const gossipsub::Delivery& d) {
            received.emplace_back(d.data.begin(), d.data.end());
        });
    }

    crypto::PrivateKey key;
    std::unique_ptr<Host> host;
    std::shared_ptr<Pubsub> pubsub;
    Multiaddr addr;
    std::vector<std::string> received;
};

}  // namespace swarmd::net::testing
