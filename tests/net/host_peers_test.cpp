// One connection per peer and per-peer stream limits, over real loopback sockets: simultaneous
// dials settle on one connection both sides agree on, concurrent dials share one attempt, a
// draining connection lets its streams finish, and a peer gets at most two inbound ping streams.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "net/ping.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

namespace {

constexpr std::string_view kEcho = "/test/echo/1.0.0";

void serve_echo(Host& host) {
    host.set_handler(std::string(kEcho),
                     [](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
                         for (;;) {
                             auto message = co_await stream->read_length_prefixed(1 << 16);
                             if (!message) break;
                             auto written = co_await stream->write_length_prefixed(message.value());
                             if (!written) break;
                         }
                         stream->close_write();
                     });
}

// One message echoed on a new stream to `peer`; the stream is then closed both ways.
asio::awaitable<bool> echo_once(Host& host, const crypto::PeerId& peer) {
    auto stream = co_await host.open_stream(peer, std::string(kEcho));
    if (!stream) co_return false;
    const Bytes message{1, 2, 3, 4, 5};
    auto written = co_await stream.value()->write_length_prefixed(message);
    if (!written) co_return false;
    auto echoed = co_await stream.value()->read_length_prefixed(1 << 16);
    stream.value()->close_write();
    if (!echoed || echoed.value() != message) co_return false;
    Bytes rest(1);
    auto end = co_await stream.value()->read_some(rest);
    co_return end&& end.value() == 0;
}

// One ping round trip on an already negotiated ping stream.
asio::awaitable<Result<void>> ping_round(Stream& stream) {
    Bytes payload(kPingPayloadSize);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
    BOOST_OUTCOME_CO_TRYV(co_await stream.write(payload));
    Bytes echoed(kPingPayloadSize);
    BOOST_OUTCOME_CO_TRYV(co_await stream.read_exact(echoed));
    if (echoed != payload) co_return Errc::protocol_error;
    co_return success();
}

}  // namespace

TEST_CASE("two hosts dialing each other at once keep exactly one connection", "[host][dial]") {
    constexpr int kRounds = 25;
    constexpr int kDialsPerSide = 3;
    int a_kept_outbound = 0;
    int duplicates_closed = 0;
    for (int round = 0; round < kRounds; ++round) {
        INFO("round " << round);
        asio::io_context io;
        Host a(io.get_executor(), crypto::PrivateKey::generate());
        Host b(io.get_executor(), crypto::PrivateKey::generate());
        serve_echo(a);
        serve_echo(b);
        a.on_connection_closed([&](const std::shared_ptr<Connection>& c) {
            ++duplicates_closed;
            CHECK(!c->failed_phase());  // drained, not failed
        });
        const auto a_addr = a.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        const auto b_addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

        run(io, [&]() -> asio::awaitable<void> {
            int done = 0;
            int succeeded = 0;
            auto executor = co_await asio::this_coro::executor;
            for (int i = 0; i < kDialsPerSide; ++i) {
                for (auto [from, to] : {std::pair{&a, b_addr}, std::pair{&b, a_addr}}) {
                    asio::co_spawn(
                        executor,
                        [&, from = from, to = to]() -> asio::awaitable<void> {
                            auto connection = co_await from->dial(to);
                            if (connection) ++succeeded;
                            ++done;
                        },
                        asio::detached);
                }
            }
            co_await testing::wait_until([&] { return done == 2 * kDialsPerSide; });
            REQUIRE(done == 2 * kDialsPerSide);
            CHECK(succeeded == done);

            co_await testing::wait_until(
                [&] { return a.connection_count() == 1 && b.connection_count() == 1; });
            REQUIRE(a.connection_count() == 1);
            REQUIRE(b.connection_count() == 1);
            auto a_side = a.connection_to(b.peer_id());
            auto b_side = b.connection_to(a.peer_id());
            REQUIRE(a_side);
            REQUIRE(b_side);
            // Both ends of one TCP connection: one dialed, the other accepted.
            CHECK(a_side->outbound() != b_side->outbound());
            if (a_side->outbound()) ++a_kept_outbound;

            CHECK(co_await echo_once(a, b.peer_id()));
            CHECK(co_await echo_once(b, a.peer_id()));
            auto rtts = co_await a.ping(a_side, 2);
            CHECK(rtts);
            co_await testing::wait_until(
                [&] { return a.identified(b.peer_id()) && b.identified(a.peer_id()); });
            CHECK(a.identified(b.peer_id()) != nullptr);
            CHECK(b.identified(a.peer_id()) != nullptr);
            CHECK(a.connection_count() == 1);
            CHECK(b.connection_count() == 1);
        });
    }
    // Random keys put the lower id on either side; the survivor is not always A's dial.
    INFO("A's outbound kept in " << a_kept_outbound << " of " << kRounds << " rounds");
    CHECK(a_kept_outbound > 0);
    CHECK(a_kept_outbound < kRounds);
    // Most rounds really made two connections and closed one (the rest reused the first).
    INFO("duplicates closed: " << duplicates_closed);
    CHECK(duplicates_closed > 0);
}

TEST_CASE("concurrent dials to one peer share one attempt", "[host][dial]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    const auto b_addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    int accepted = 0;
    b.on_identify([&](const auto&, const IdentifyInfo&) { ++accepted; });

    run(io, [&]() -> asio::awaitable<void> {
        constexpr int kDials = 5;
        std::vector<std::shared_ptr<Connection>> results;
        int failed = 0;
        auto executor = co_await asio::this_coro::executor;
        for (int i = 0; i < kDials; ++i) {
            asio::co_spawn(
                executor,
                [&]() -> asio::awaitable<void> {
                    auto connection = co_await a.dial(b_addr);
                    if (connection) {
                        results.push_back(connection.value());
                    } else {
                        ++failed;
                    }
                },
                asio::detached);
        }
        co_await testing::wait_until([&] { return results.size() + failed == kDials; });
        CHECK(failed == 0);
        REQUIRE(results.size() == kDials);
        for (const auto& connection : results) CHECK(connection == results.front());
        CHECK(a.connection_count() == 1);
        CHECK(b.connection_count() == 1);
        co_await testing::wait_until([&] { return accepted > 0; });
        CHECK(accepted == 1);
    });
}

TEST_CASE("a draining connection finishes its open streams, then closes on both sides",
          "[host][dial]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    serve_echo(b);
    const auto b_addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(b_addr);
        REQUIRE(connection);
        co_await testing::wait_until([&] { return b.connection_to(a.peer_id()) != nullptr; });
        auto b_side = b.connection_to(a.peer_id());
        REQUIRE(b_side);
        auto stream = co_await connection.value()->open_stream(std::string(kEcho));
        REQUIRE(stream);

        connection.value()->drain();
        CHECK(!connection.value()->usable());
        CHECK(a.connection_to(b.peer_id()) == nullptr);
        auto refused = co_await connection.value()->open_stream(std::string(kEcho));
        CHECK(refused.error() == Errc::connection_closed);
        // The GoAway reaches B: it opens nothing new there either, but the stream goes on.
        co_await testing::wait_until([&] { return !b_side->usable(); });
        CHECK(!b_side->usable());
        CHECK(b_side->state() == Connection::State::open);

        const Bytes message(1000, 0x5a);
        REQUIRE(co_await stream.value()->write_length_prefixed(message));
        auto echoed = co_await stream.value()->read_length_prefixed(1 << 16);
        REQUIRE(echoed);
        CHECK(echoed.value() == message);
        stream.value()->close_write();
        co_await testing::wait_until(
            [&] { return a.connection_count() == 0 && b.connection_count() == 0; });
        CHECK(a.connection_count() == 0);
        CHECK(b.connection_count() == 0);
        CHECK(!connection.value()->failed_phase());
        CHECK(!b_side->failed_phase());
    });
}

TEST_CASE("a peer gets at most two concurrent inbound ping streams", "[host][ping]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    Host c(io.get_executor(), crypto::PrivateKey::generate());
    const auto b_addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    const std::string ping(kPingProtocol);

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(b_addr);
        REQUIRE(connection);
        auto first = co_await connection.value()->open_stream(ping);
        REQUIRE(first);
        REQUIRE(co_await ping_round(*first.value()));
        auto second = co_await connection.value()->open_stream(ping);
        REQUIRE(second);
        REQUIRE(co_await ping_round(*second.value()));

        // The third is reset once negotiated (the reset may even beat the negotiation).
        auto third = co_await connection.value()->open_stream(ping);
        if (third) {
            auto answered = co_await ping_round(*third.value());
            CHECK(!answered);
            CHECK(third.value()->error() == Errc::stream_reset);
        } else {
            CHECK(third.error() == Errc::stream_reset);
        }
        // The first two keep answering, and the connection is fine.
        CHECK(co_await ping_round(*first.value()));
        CHECK(co_await ping_round(*second.value()));
        CHECK(connection.value()->usable());

        // The limit is per peer: another peer pings meanwhile.
        auto other = co_await c.dial(b_addr);
        REQUIRE(other);
        CHECK(co_await c.ping(other.value(), 2));

        // Closing one frees a slot: B's responder ends (its FIN reaches us) before the next.
        first.value()->close_write();
        Bytes rest(1);
        auto end = co_await first.value()->read_some(rest);
        REQUIRE(end);
        CHECK(end.value() == 0);
        auto rtts = co_await a.ping(connection.value(), 2);
        CHECK(rtts);
        CHECK(co_await ping_round(*second.value()));
    });
}
