// Circuit relay v2 against js-libp2p's @libp2p/circuit-relay-v2 (peer.mjs relay): a swarmd relay
// serving js clients (a js peer reserves, another js peer and swarmd reach it through us), and a
// js relay serving swarmd clients (swarmd reserves and checks the js voucher, swarmd and js reach
// it through js).
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/relay.hpp"
#include "net/relay_service.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"
#include "tests/net/relay_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
namespace asio = boost::asio;
using namespace std::chrono_literals;

using swarmd::net::testing::RelayNode;

TEST_CASE("a swarmd relay serves js-libp2p circuit relay clients", "[interop][relay]") {
    asio::io_context io;
    RelayNode r(io, true);
    RelayNode b(io, false);
    JsPeer js_a(io, {"relay"});
    JsPeer js_b(io, {"relay"});
    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            // Named, not temporaries in the co_await expressions: GCC 12 mishandles those.
            const std::string listening = "listening", reserved = "reserved", pinged = "pinged";
            const auto a_listening = co_await js_a.expect(listening);
            (void)co_await js_b.expect(listening);
            const auto a_id = crypto::PeerId::parse(a_listening["peerId"].get<std::string>());
            REQUIRE(a_id);

            js_a.send({{"cmd", "reserve"}, {"addr", r.addr.to_string()}});
            const auto reservation = co_await js_a.expect(reserved);
            REQUIRE(reservation["addrs"].size() >= 1);
            CHECK(
                r.relay->server().has_reservation(a_id.value(), std::chrono::system_clock::now()));
            const std::string circuit =
                r.addr.to_string() + "/p2p-circuit/p2p/" + a_id.value().to_base58();

            // js B reaches js A through us.
            js_b.send({{"cmd", "ping"}, {"addr", circuit}});
            const auto ping = co_await js_b.expect(pinged);
            CHECK(ping["peerId"] == a_id.value().to_base58());
            CHECK(ping["limited"] == true);

            // And so does swarmd.
            auto connection = co_await b.host.dial(Multiaddr::parse(circuit).value());
            REQUIRE(connection);
            CHECK(connection.value()->relayed());
            auto rtts = co_await b.host.ping(connection.value(), 2);
            CHECK(rtts);
            CHECK(r.relay->server().circuits() >= 1);
        },
        60s);
}

TEST_CASE("swarmd reserves on a js-libp2p relay and is reached through it", "[interop][relay]") {
    asio::io_context io;
    JsPeer js_r(io, {"relay", "--server"});
    JsPeer js_b(io, {"relay"});
    RelayNode a(io, false);
    RelayNode b(io, false);
    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string listening = "listening", pinged = "pinged",
                              connection_event = "connection";
            const auto r_listening = co_await js_r.expect(listening);
            (void)co_await js_b.expect(listening);
            const auto r_addr = Multiaddr::parse(r_listening["addrs"][0].get<std::string>());
            REQUIRE(r_addr);

            // The js relay's voucher verifies (check_reservation opens it) and its limits arrive.
            auto granted = co_await a.relay->reserve(r_addr.value());
            REQUIRE(granted);
            CHECK_FALSE(granted.value().reservation.voucher.empty());
            CHECK(granted.value().limit);
            const auto addrs = a.relay->circuit_addrs();
            REQUIRE_FALSE(addrs.empty());
            const Multiaddr circuit = addrs[0].with_peer_id(a.host.peer_id());

            // swarmd B reaches swarmd A through js, and A pings back over the same connection.
            auto connection = co_await b.host.dial(circuit);
            REQUIRE(connection);
            CHECK(connection.value()->relayed());
            auto there = co_await b.host.ping(connection.value(), 2);
            CHECK(there);
            co_await testing::wait_until(
                [&] { return a.host.connection_to(b.host.peer_id()) != nullptr; });
            auto inbound = a.host.connection_to(b.host.peer_id());
            REQUIRE(inbound);
            CHECK(inbound->relayed());
            auto back = co_await a.host.ping(inbound);
            CHECK(back);

            // js B reaches swarmd A through js R.
            js_b.send({{"cmd", "ping"}, {"addr", circuit.to_string()}});
            const auto ping = co_await js_b.expect(pinged);
            CHECK(ping["peerId"] == a.host.peer_id().to_base58());
            CHECK(ping["limited"] == true);
        },
        60s);
}
