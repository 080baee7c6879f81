// swarmd <-> swarmd over real loopback sockets: upgrade, identify, ping, streams, limits.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "net/host_error.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

TEST_CASE("two hosts connect, identify each other and ping", "[host]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    CHECK(addr.value().peer_id() == b.peer_id());

    int identified_by_b = 0;
    b.on_identify([&](const auto& connection, const IdentifyInfo& info) {
        ++identified_by_b;
        CHECK(connection->remote_peer() == a.peer_id());
        CHECK(info.agent_version == "swarmd/0.1.0");
    });

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(addr.value());
        REQUIRE(connection);
        CHECK(connection.value()->remote_peer() == b.peer_id());

        auto info = co_await a.identify(connection.value());
        REQUIRE(info);
        CHECK(info.value().agent_version == "swarmd/0.1.0");
        CHECK(info.value().protocol_version == "ipfs/0.1.0");
        CHECK(crypto::PeerId::from_public_key(*info.value().public_key) == b.peer_id());
        const auto& protocols = info.value().protocols;
        CHECK(std::find(protocols.begin(), protocols.end(), "/ipfs/id/1.0.0") != protocols.end());
        CHECK(std::find(protocols.begin(), protocols.end(), "/ipfs/ping/1.0.0") != protocols.end());
        REQUIRE(info.value().listen_addrs.size() == 1);
        CHECK(Multiaddr::from_bytes(info.value().listen_addrs[0]).value() ==
              addr.value().without_peer_id());
        REQUIRE(info.value().observed_addr);
        CHECK(Multiaddr::from_bytes(*info.value().observed_addr).value().tcp_endpoint()->host ==
              "127.0.0.1");

        auto rtts = co_await a.ping(connection.value(), 3);
        REQUIRE(rtts);
        CHECK(rtts.value().size() == 3);

        // The same peer again reuses the open connection.
        auto again = co_await a.dial(addr.value());
        REQUIRE(again);
        CHECK(again.value() == connection.value());
        co_await testing::wait_until([&] { return identified_by_b > 0; });
    });
    CHECK(identified_by_b == 1);
    CHECK(a.identified(b.peer_id()) != nullptr);
}

TEST_CASE("custom protocols: echo with length-prefixed messages and half-close", "[host]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    b.set_handler("/test/echo/1.0.0", [](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
        for (;;) {
            auto message = co_await stream->read_length_prefixed(1 << 20);
            if (!message) break;
            auto written = co_await stream->write_length_prefixed(message.value());
            if (!written) break;
        }
        stream->close_write();
    });
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(addr);
        REQUIRE(connection);
        auto stream = co_await connection.value()->open_stream("/test/echo/1.0.0");
        REQUIRE(stream);
        CHECK(stream.value()->protocol() == "/test/echo/1.0.0");
        // Larger than the initial 256 KiB window, so it exercises window updates.
        Bytes big(700 * 1024);
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
        for (const Bytes& message : {Bytes{1, 2, 3}, Bytes{}, big}) {
            auto written = co_await stream.value()->write_length_prefixed(message);
            REQUIRE(written);
            auto echoed = co_await stream.value()->read_length_prefixed(1 << 20);
            REQUIRE(echoed);
            CHECK(echoed.value() == message);
        }
        stream.value()->close_write();
        Bytes rest(1);
        auto end = co_await stream.value()->read_some(rest);
        REQUIRE(end);
        CHECK(end.value() == 0);

        auto refused = co_await connection.value()->open_stream("/test/unknown/1.0.0");
        CHECK(refused.error() == Errc::protocol_not_supported);
    });
}

TEST_CASE("dialing a wrong peer id fails with peer_id_mismatch", "[host]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    const auto impostor =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());

    run(io, [&]() -> asio::awaitable<void> {
        auto wrong = co_await a.dial(addr.without_peer_id().with_peer_id(impostor));
        REQUIRE(!wrong);
        CHECK(wrong.error() == Errc::peer_id_mismatch);
        // The listener keeps serving: the right id connects.
        auto right = co_await a.dial(addr);
        REQUIRE(right);
        auto rtts = co_await a.ping(right.value());
        CHECK(rtts);
    });
}

TEST_CASE("dial failures back off and time out", "[host]") {
    asio::io_context io;
    HostOptions options;
    auto now = std::chrono::steady_clock::now();
    options.clock = [&] { return now; };
    options.initial_backoff = 10s;
    Host a(io.get_executor(), crypto::PrivateKey::generate(), options);

    // A port that refuses: bind, read the port, close.
    asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = closed.local_endpoint().port();
    closed.close();
    const auto addr = Multiaddr::from_ip_tcp("127.0.0.1", port).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto first = co_await a.dial(addr);
        REQUIRE(!first);
        CHECK(first.error() == std::errc::connection_refused);
        auto second = co_await a.dial(addr);
        CHECK(second.error() == Errc::dial_backoff);
        now += 11s;
        auto third = co_await a.dial(addr);
        CHECK(third.error() == std::errc::connection_refused);
        now += 11s;  // the second failure doubled the backoff to 20 s
        auto fourth = co_await a.dial(addr);
        CHECK(fourth.error() == Errc::dial_backoff);

        auto self = co_await a.dial(addr.with_peer_id(a.peer_id()));
        CHECK(self.error() == HostErrc::dial_self);
        auto dns = co_await a.dial(Multiaddr::parse("/ip4/127.0.0.1/udp/1").value());
        CHECK(dns.error() == HostErrc::unsupported_address);
    });
}

TEST_CASE("a silent listener fails the handshake with timeout", "[host]") {
    asio::io_context io;
    HostOptions options;
    options.connection.handshake_timeout = 200ms;
    Host a(io.get_executor(), crypto::PrivateKey::generate(), options);
    // Accepts TCP but never speaks.
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](const boost::system::error_code&) {});
    const auto addr = Multiaddr::from_ip_tcp("127.0.0.1", silent.local_endpoint().port()).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto result = co_await a.dial(addr);
        REQUIRE(!result);
        CHECK(result.error() == Errc::timeout);
        CHECK(a.connection_count() == 0);
    });
}

TEST_CASE("connection limit refuses further peers", "[host]") {
    asio::io_context io;
    HostOptions limited;
    limited.max_inbound = 1;
    Host server(io.get_executor(), crypto::PrivateKey::generate(), limited);
    Host c1(io.get_executor(), crypto::PrivateKey::generate());
    Host c2(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = server.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto first = co_await c1.dial(addr);
        REQUIRE(first);
        auto second = co_await c2.dial(addr);
        CHECK(!second);
        CHECK(server.connection_count() == 1);
        CHECK(server.stats().refused_inbound_limit == 1);
        auto rtts = co_await c1.ping(first.value());
        CHECK(rtts);
    });
}

TEST_CASE("graceful close reaches the other side", "[host]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(addr);
        REQUIRE(connection);
        co_await testing::wait_until([&] { return b.connection_count() == 1; });
        connection.value()->close();
        co_await testing::wait_until(
            [&] { return b.connection_count() == 0 && a.connection_count() == 0; });
        CHECK(!connection.value()->failed_phase());
    });
}
