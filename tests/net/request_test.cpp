// The request/response skeleton over real loopback sockets: an answer arrives and ends; a
// refused, oversized or missing request resets the stream; a stalled exchange ends at its
// deadline.
#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

namespace {
constexpr const char* kProtocol = "/test/request/1.0.0";
}

TEST_CASE("a request gets its answer frames, then the end of the stream", "[request]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    int handled = 0;
    serve_requests(b, kProtocol, {8, 5s},
                   [&](Stream& stream, Bytes request) -> asio::awaitable<Answer> {
                       ++handled;
                       if (request.empty() || request[0] != 'q') co_return Answer::refused;
                       // Two frames: the request back, then its length.
                       if (!co_await stream.write_length_prefixed(request))
                           co_return Answer::refused;
                       const Bytes size{static_cast<std::uint8_t>(request.size())};
                       if (!co_await stream.write_length_prefixed(size)) co_return Answer::refused;
                       co_return Answer::answered;
                   });
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    run(io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await a.dial(addr));
        // Named, not temporaries in the co_await expressions: GCC 12 mishandles those.
        const std::string protocol = kProtocol;
        Bytes question{'q', '1', '2'};
        auto stream = co_await send_request(a, b.peer_id(), protocol, question, 5s);
        REQUIRE(stream);
        auto& s = *stream.value();
        auto first = co_await s.read_length_prefixed(8);
        REQUIRE(first);
        CHECK(first.value() == Bytes{'q', '1', '2'});
        auto second = co_await s.read_length_prefixed(8);
        REQUIRE(second);
        CHECK(second.value() == Bytes{3});
        Bytes rest(1);
        auto end = co_await s.read_some(rest);  // the server half-closed after answering
        REQUIRE(end);
        CHECK(end.value() == 0);

        // A request the handler refuses, and one over the bound (never handed to the handler):
        // both reset the stream, so the requester reads an error, not a half answer.
        Bytes wrong{'x'};
        auto refused = co_await send_request(a, b.peer_id(), protocol, wrong, 5s);
        REQUIRE(refused);
        auto none = co_await refused.value()->read_length_prefixed(8);
        CHECK_FALSE(none);
        Bytes too_long(9, 'q');
        auto oversized = co_await send_request(a, b.peer_id(), protocol, too_long, 5s);
        REQUIRE(oversized);
        auto cut = co_await oversized.value()->read_length_prefixed(8);
        CHECK_FALSE(cut);
        CHECK(handled == 2);
    });
}

TEST_CASE("a requester that never sends its request holds the server's stream until the deadline",
          "[request]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    int handled = 0;
    serve_requests(b, kProtocol, {8, 300ms}, [&](Stream&, Bytes) -> asio::awaitable<Answer> {
        ++handled;
        co_return Answer::answered;
    });
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(addr);
        REQUIRE(connection);
        const std::string protocol = kProtocol;
        auto stream = co_await connection.value()->open_stream(protocol);
        REQUIRE(stream);
        // Nothing written: the server gives up at its deadline and resets.
        const auto began = std::chrono::steady_clock::now();
        stream.value()->set_deadline(began + 5s);
        auto answer = co_await stream.value()->read_length_prefixed(8);
        CHECK_FALSE(answer);
        CHECK(std::chrono::steady_clock::now() - began < 3s);
        CHECK(handled == 0);
    });
}
