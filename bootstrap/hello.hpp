#pragma once
// /swarmd/hello/1.0.0: the first exchange on every new connection between swarmd nodes. Each side
// states its swarm id; the responder also says whether it accepts the dialer. Peers of another
// swarm, or ones the responder's gossip scoring has graylisted, are told so and disconnected, so
// a failed join can say exactly why.
#include <functional>
#include <memory>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "bootstrap/hello_message.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {
class Host;
class Stream;
}  // namespace swarmd::net

namespace swarmd::bootstrap {

inline constexpr const char* kHelloProtocol = "/swarmd/hello/1.0.0";

// The dialer's side: sends ours, reads the reply. Fails with different_swarm or
// rejected_low_score when the responder says so (or its swarm id differs).
boost::asio::awaitable<Result<Hello>> exchange_hello(std::shared_ptr<net::Stream> stream,
                                                     Hello ours);

// Opens the hello stream on a fresh connection to `peer` and runs exchange_hello under a deadline.
boost::asio::awaitable<Result<Hello>> say_hello(net::Host& host, const crypto::PeerId& peer,
                                                Hello ours);

// Registers the responder. `rejects(peer)` says whether the node refuses that peer (e.g. its
// gossip score is below the graylist threshold). A refused or foreign peer is disconnected
// after it has been told why.
using RejectPeer = std::function<bool(const crypto::PeerId&)>;
void serve_hello(net::Host& host, Hello ours, RejectPeer rejects = {});

}  // namespace swarmd::bootstrap
