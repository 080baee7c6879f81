#pragma once
// A host on loopback with circuit relay v2 (a relay server when asked): the node the relay and
// DCUtR tests, loopback and interop, build on.
#include <memory>

#include <boost/asio/io_context.hpp>

#include "crypto/keys.hpp"
#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/relay_service.hpp"

namespace swarmd::net::testing {

struct RelayNode {
    RelayNode(boost::asio::io_context& io, bool server, RelayServiceOptions options = {},
              HostOptions host_options = {})
        : identity(crypto::PrivateKey::generate()),
          host(io.get_executor(), identity.clone(), std::move(host_options)),
          relay(std::make_shared<RelayService>(io.get_executor(), host, identity.clone(),
                                               std::move(options))) {
        relay->start();
        if (server) relay->enable_server();
        host.on_connection_closed([r = relay.get()](const std::shared_ptr<Connection>& c) {
            r->on_connection_closed(c);
        });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    }
    RelayNode(const RelayNode&) = delete;
    RelayNode& operator=(const RelayNode&) = delete;
    ~RelayNode() {
        relay->stop();
        host.stop();
    }
    const crypto::PeerId& id() const { return host.peer_id(); }
    // Our address through this relay to `target`: <relay addr>/p2p-circuit/p2p/<target>.
    Multiaddr circuit_to(const crypto::PeerId& target) const {
        return addr.encapsulate(Multiaddr::parse("/p2p-circuit").value()).with_peer_id(target);
    }

    crypto::PrivateKey identity;
    Host host;
    std::shared_ptr<RelayService> relay;
    Multiaddr addr;
};

}  // namespace swarmd::net::testing
