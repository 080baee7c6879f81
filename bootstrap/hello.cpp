#include "bootstrap/hello.hpp"

#include "base/encoding.hpp"
#include "bootstrap/error.hpp"
#include "bootstrap/log.hpp"
#include "net/host.hpp"
#include "net/stream.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr std::chrono::seconds kHelloTimeout{10};

std::string short_id(const crypto::Digest& id) { return hex_encode(id).substr(0, 12); }

}  // namespace

boost::asio::awaitable<Result<Hello>> exchange_hello(std::shared_ptr<net::Stream> stream,
                                                     Hello ours) {
    ours.status = HelloStatus::ok;
    stream->set_deadline(std::chrono::steady_clock::now() + kHelloTimeout);
    auto written = co_await stream->write_length_prefixed(encode_hello(ours));
    if (!written) co_return written.error();
    auto reply = co_await stream->read_length_prefixed(kHelloSize);
    if (!reply) co_return reply.error();
    auto theirs = decode_hello(reply.value());
    if (!theirs) co_return theirs.error();
    stream->close_write();
    if (theirs.value().status == HelloStatus::rejected_low_score)
        co_return Errc::rejected_low_score;
    if (theirs.value().status == HelloStatus::different_swarm ||
        theirs.value().swarm_id != ours.swarm_id) {
        boot_log().warn("peer trains swarm {}, not ours {} peer={}",
                        short_id(theirs.value().swarm_id), short_id(ours.swarm_id),
                        stream->remote_peer().to_base58());
        co_return Errc::different_swarm;
    }
    co_return theirs;
}

boost::asio::awaitable<Result<Hello>> say_hello(net::Host& host, const crypto::PeerId& peer,
                                                Hello ours) {
    auto stream = co_await host.open_stream(peer, kHelloProtocol);
    if (!stream) co_return stream.error();
    co_return co_await exchange_hello(stream.value(), ours);
}

void serve_hello(net::Host& host, Hello ours, RejectPeer rejects) {
    host.set_handler(kHelloProtocol,
                     [&host, ours, rejects](
                         std::shared_ptr<net::Stream> stream) -> boost::asio::awaitable<void> {
                         stream->set_deadline(std::chrono::steady_clock::now() + kHelloTimeout);
                         auto request = co_await stream->read_length_prefixed(kHelloSize);
                         if (!request) co_return;
                         auto theirs = decode_hello(request.value());
                         if (!theirs) {
                             stream->reset();
                             co_return;
                         }
                         Hello reply = ours;
                         const auto& peer = stream->remote_peer();
                         if (theirs.value().swarm_id != ours.swarm_id) {
                             reply.status = HelloStatus::different_swarm;
                         } else if (rejects && rejects(peer)) {
                             reply.status = HelloStatus::rejected_low_score;
                         }
                         co_await stream->write_length_prefixed(encode_hello(reply));
                         stream->close_write();
                         if (reply.status != HelloStatus::ok) {
                             // Let the reply drain before dropping the connection.
                             co_await stream->read_to_end(kHelloSize);
                             if (auto connection = host.connection_to(peer)) {
                                 connection->stop(reply.status == HelloStatus::different_swarm
                                                      ? make_error_code(Errc::different_swarm)
                                                      : make_error_code(Errc::rejected_low_score),
                                                  net::Phase::session);
                             }
                         }
                     });
}

}  // namespace swarmd::bootstrap
