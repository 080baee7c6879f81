#pragma once
// /swarmd/peers/1.0.0: ask a peer for other peers of the swarm. The responder answers with up to
// kMaxExchangedPeers connected peers and their listen addresses, then closes the stream. This is
// how a node that knows only a bootstrap peer grows to its target degree.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "bootstrap/peer_exchange_message.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::bootstrap {

inline constexpr const char* kPeersProtocol = "/swarmd/peers/1.0.0";

// Serves the peers the node is connected to, as `list()` returns them.
void serve_peer_exchange(net::Host& host, std::function<std::vector<PeerInfo>()> list);
// Asks a connected peer for its peers.
boost::asio::awaitable<Result<std::vector<PeerInfo>>> request_peers(net::Host& host,
                                                                    const crypto::PeerId& peer);

}  // namespace swarmd::bootstrap
