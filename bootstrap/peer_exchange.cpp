#include "bootstrap/peer_exchange.hpp"

#include "net/host.hpp"
#include "net/stream.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr std::chrono::seconds kExchangeTimeout{10};

}  // namespace

void serve_peer_exchange(net::Host& host, std::function<std::vector<PeerInfo>()> list) {
    host.set_handler(kPeersProtocol,
                     [list = std::move(list)](
                         std::shared_ptr<net::Stream> stream) -> boost::asio::awaitable<void> {
                         stream->set_deadline(std::chrono::steady_clock::now() + kExchangeTimeout);
                         auto peers = list();
                         // Never tell a peer about itself.
                         std::erase_if(peers, [&](const PeerInfo& p) {
                             return p.peer == stream->remote_peer();
                         });
                         co_await stream->write_length_prefixed(encode_peers(peers));
                         stream->close_write();
                     });
}

boost::asio::awaitable<Result<std::vector<PeerInfo>>> request_peers(net::Host& host,
                                                                    const crypto::PeerId& peer) {
    auto stream = co_await host.open_stream(peer, kPeersProtocol);
    if (!stream) co_return stream.error();
    stream.value()->set_deadline(std::chrono::steady_clock::now() + kExchangeTimeout);
    stream.value()->close_write();
    auto body = co_await stream.value()->read_length_prefixed(kMaxPeersMessage);
    if (!body) co_return body.error();
    co_return decode_peers(body.value());
}

}  // namespace swarmd::bootstrap
