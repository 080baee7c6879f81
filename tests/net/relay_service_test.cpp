// Circuit relay v2 over real loopback sockets: A reserves a slot on relay R, B reaches A through
// R, and the relayed connection carries ping and identify both ways; R's limits cut circuits; a
// CONNECT to a peer without a reservation is refused; garbage on hop and stop streams is answered
// or reset, and the hosts keep serving.
#include <catch2/catch.hpp>

#include "net/connection.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/relay.hpp"
#include "net/relay_service.hpp"
#include "net/stream.hpp"
#include "tests/net/host_fixture.hpp"
#include "tests/net/relay_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;
using swarmd::net::testing::wait_until;

namespace {

// (Results are bound before CHECK/REQUIRE: GCC 12 runs a co_await inside Catch's macros more
// than once.)
constexpr std::string_view kSinkProtocol = "/swarmd/test/sink/1.0.0";

// A relay node that also reads whatever arrives on the sink protocol, for the data-limit test.
struct Node : testing::RelayNode {
    Node(asio::io_context& io, bool server, RelayServiceOptions options = {})
        : RelayNode(io, server, std::move(options)) {
        host.set_handler(std::string(kSinkProtocol),
                         [](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
                             (void)co_await s->read_to_end(1 << 24);
                         });
    }
};

Multiaddr through(const Node& relay, const Node& target) { return relay.circuit_to(target.id()); }

RelayServiceOptions with_limit(relay::Limit limit) {
    RelayServiceOptions o;
    o.server.circuit_limit = limit;
    return o;
}

// A raw hop or stop exchange: one framed body out, one framed answer back.
asio::awaitable<Result<Bytes>> exchange(Host& from, const Multiaddr& to, std::string_view protocol,
                                        const Bytes& body) {
    auto connection = co_await from.dial(to);
    if (!connection) co_return connection.error();
    auto stream = co_await connection.value()->open_stream(std::string(protocol));
    if (!stream) co_return stream.error();
    auto written = co_await stream.value()->write_length_prefixed(body);
    if (!written) co_return written.error();
    co_return co_await stream.value()->read_length_prefixed(4096);
}

}  // namespace

TEST_CASE("relay: A reserves on R, B dials A through R, ping and identify both ways",
          "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false);
    Node b(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto granted = co_await a.relay->reserve(r.addr);
        REQUIRE(granted);
        CHECK(granted.value().limit == relay::Limit{120, 128 * 1024});
        CHECK(r.relay->server().has_reservation(a.id(), std::chrono::system_clock::now()));
        const auto addrs = a.relay->circuit_addrs();
        REQUIRE(addrs.size() == 1);
        CHECK(addrs[0] == r.addr.encapsulate(Multiaddr::parse("/p2p-circuit").value()));

        // Through the host's own dial(): the relay service is its circuit dialer.
        auto connection = co_await b.host.dial(addrs[0].with_peer_id(a.id()));
        REQUIRE(connection);
        CHECK(connection.value()->relayed());
        CHECK(connection.value()->remote_peer() == a.id());
        CHECK(r.relay->server().circuits() == 1);

        auto there = co_await b.host.ping(connection.value(), 3);
        REQUIRE(there);
        CHECK(there.value().size() == 3);

        co_await wait_until([&] { return a.host.identified(b.id()) != nullptr; });
        auto inbound = a.host.connection_to(b.id());
        REQUIRE(inbound);
        CHECK(inbound->relayed());
        CHECK_FALSE(inbound->outbound());
        CHECK(inbound->remote_addr() == through(r, b));
        auto back = co_await a.host.ping(inbound);
        CHECK(back);

        auto info = co_await b.host.identify(connection.value());
        REQUIRE(info);
        CHECK(crypto::PeerId::from_public_key(*info.value().public_key) == a.id());
        co_await wait_until([&] { return b.host.identified(a.id()) != nullptr; });
        CHECK(b.host.identified(a.id()) != nullptr);

        // Closing the relayed connection ends the circuit on the relay.
        connection.value()->close();
        co_await wait_until([&] { return r.relay->server().circuits() == 0; });
        CHECK(r.relay->server().circuits() == 0);
        CHECK(b.host.connection_to(a.id()) == nullptr);
    });
}

TEST_CASE("relay: a direct connection wins over the relayed one", "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false);
    Node b(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto reserved = co_await a.relay->reserve(r.addr);
        REQUIRE(reserved);
        auto relayed = co_await b.host.dial(through(r, a));
        REQUIRE(relayed);
        REQUIRE(relayed.value()->relayed());
        // A direct address is dialed even though a relayed connection exists, and replaces it.
        auto direct = co_await b.host.dial(a.addr);
        REQUIRE(direct);
        CHECK_FALSE(direct.value()->relayed());
        CHECK(b.host.connection_to(a.id()) == direct.value());
        co_await wait_until([&] { return r.relay->server().circuits() == 0; });
        CHECK(r.relay->server().circuits() == 0);
        auto kept = a.host.connection_to(b.id());
        REQUIRE(kept);
        CHECK_FALSE(kept->relayed());
        // And a circuit dial now finds the direct connection.
        auto again = co_await b.host.dial(through(r, a));
        REQUIRE(again);
        CHECK(again.value() == direct.value());
    });
}

TEST_CASE("relay: the data limit cuts a circuit", "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true, with_limit({0, 32 * 1024}));
    Node a(io, false);
    Node b(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto reserved = co_await a.relay->reserve(r.addr);
        REQUIRE(reserved);
        auto connection = co_await b.host.dial(through(r, a));
        REQUIRE(connection);
        auto stream = co_await connection.value()->open_stream(std::string(kSinkProtocol));
        REQUIRE(stream);
        const Bytes chunk(8 * 1024, 0x5a);
        // 128 KiB against a 32 KiB budget; writes may all be queued before the cut arrives.
        for (int i = 0; i < 16; ++i) {
            auto written = co_await stream.value()->write(chunk);
            if (!written) break;
        }
        co_await wait_until(
            [&] { return connection.value()->state() == Connection::State::closed; });
        CHECK(connection.value()->state() == Connection::State::closed);
        // The relay reset the circuit: not an orderly close.
        CHECK(connection.value()->close_reason() == Errc::stream_reset);
        co_await wait_until([&] { return r.relay->server().circuits() == 0; });
        CHECK(r.relay->server().circuits() == 0);
        co_await wait_until([&] { return a.host.connection_to(b.id()) == nullptr; });
        CHECK(a.host.connection_to(b.id()) == nullptr);
        // The reservation outlives the cut circuit: B can come back.
        auto again = co_await b.host.dial(through(r, a));
        CHECK(again);
    });
}

TEST_CASE("relay: the duration limit cuts a circuit", "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true, with_limit({1, 0}));
    Node a(io, false);
    Node b(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto reserved = co_await a.relay->reserve(r.addr);
        REQUIRE(reserved);
        auto connection = co_await b.host.dial(through(r, a));
        REQUIRE(connection);
        const auto opened = std::chrono::steady_clock::now();
        auto pinged = co_await b.host.ping(connection.value());
        CHECK(pinged);
        co_await wait_until(
            [&] { return connection.value()->state() == Connection::State::closed; }, 4s);
        CHECK(connection.value()->state() == Connection::State::closed);
        CHECK(connection.value()->close_reason() == Errc::stream_reset);
        CHECK(std::chrono::steady_clock::now() - opened >= 900ms);
        CHECK(r.relay->server().circuits() == 0);
    });
}

TEST_CASE("relay: CONNECT to a peer without a reservation gets NO_RESERVATION",
          "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false);
    Node b(io, false);
    Node c(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        // A peer that does not serve hop at all: the hop stream's negotiation fails.
        auto no_relay = co_await b.relay->dial(through(c, a));
        REQUIRE_FALSE(no_relay);
        CHECK(no_relay.error() == Errc::protocol_not_supported);
        CHECK(b.host.connection_to(a.id()) == nullptr);
        // A is connected to R but holds no reservation.
        auto dialed = co_await a.host.dial(r.addr);
        REQUIRE(dialed);
        auto refused = co_await b.host.dial(through(r, a));
        REQUIRE_FALSE(refused);
        CHECK(refused.error() == relay::Status::no_reservation);
        // Not a circuit address.
        auto not_circuit = co_await b.relay->dial(a.addr);
        REQUIRE_FALSE(not_circuit);
        CHECK(not_circuit.error() == relay::Errc::not_a_circuit_address);
    });
}

TEST_CASE("relay: a reservation ends with its peer's connection", "[relay][relay_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto reserved = co_await a.relay->reserve(r.addr);
        REQUIRE(reserved);
        CHECK(a.relay->has_reservation(r.id()));
        a.host.connection_to(r.id())->close();
        co_await wait_until([&] { return r.relay->server().reservations() == 0; });
        CHECK(r.relay->server().reservations() == 0);
        co_await wait_until([&] { return !a.relay->has_reservation(r.id()); });
        CHECK(a.relay->circuit_addrs().empty());
    });
}

TEST_CASE("relay: a reservation is renewed before it expires", "[relay][relay_service]") {
    asio::io_context io;
    RelayServiceOptions options;
    options.server.reservation_ttl = 2s;
    Node r(io, true, options);
    Node a(io, false);
    run(io, [&]() -> asio::awaitable<void> {
        auto granted = co_await a.relay->reserve(r.addr);
        REQUIRE(granted);
        const std::uint64_t first = granted.value().reservation.expire;
        co_await wait_until(
            [&] {
                const auto* held = a.relay->reservation(r.id());
                return held && held->reservation.expire > first;
            },
            4s);
        const auto* held = a.relay->reservation(r.id());
        REQUIRE(held);
        CHECK(held->reservation.expire > first);
        CHECK(r.relay->server().has_reservation(a.id(), std::chrono::system_clock::now()));
    });
}

TEST_CASE("relay: garbage on hop and stop streams is answered or reset, nothing breaks",
          "[relay][relay_service][hostile]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false);
    Host attacker(io.get_executor(), crypto::PrivateKey::generate());
    run(io, [&]() -> asio::awaitable<void> {
        auto reserved = co_await a.relay->reserve(r.addr);
        REQUIRE(reserved);
        const Bytes garbage{0x0a, 0xff, 0x01, 0x02};
        for (std::string_view protocol : {relay::kHopProtocol, relay::kStopProtocol}) {
            const Multiaddr& target = protocol == relay::kHopProtocol ? r.addr : a.addr;
            auto answer = co_await exchange(attacker, target, protocol, garbage);
            REQUIRE(answer);
            if (protocol == relay::kHopProtocol) {
                auto hop = relay::decode_hop(answer.value());
                REQUIRE(hop);
                CHECK(hop.value().status == relay::Status::malformed_message);
            } else {
                auto stop = relay::decode_stop(answer.value());
                REQUIRE(stop);
                CHECK(stop.value().status == relay::Status::malformed_message);
            }
        }
        // A STATUS where a request belongs.
        auto status =
            co_await exchange(attacker, r.addr, relay::kHopProtocol,
                              relay::encode_hop(relay::hop_status(relay::Status::ok)).value());
        REQUIRE(status);
        CHECK(relay::decode_hop(status.value()).value().status ==
              relay::Status::unexpected_message);
        // A stop CONNECT from someone A holds no reservation with.
        relay::StopMessage connect;
        connect.type = relay::StopMessage::Type::connect;
        connect.peer = relay::PeerInfo{attacker.peer_id(), {}};
        auto denied = co_await exchange(attacker, a.addr, relay::kStopProtocol,
                                        relay::encode_stop(connect).value());
        REQUIRE(denied);
        CHECK(relay::decode_stop(denied.value()).value().status ==
              relay::Status::permission_denied);

        // An oversized length prefix: the stream is reset, no answer.
        auto connection = co_await attacker.dial(r.addr);
        REQUIRE(connection);
        auto stream = co_await connection.value()->open_stream(std::string(relay::kHopProtocol));
        REQUIRE(stream);
        const Bytes huge_prefix{0xff, 0xff, 0xff, 0x0f};
        auto sent = co_await stream.value()->write(huge_prefix);
        REQUIRE(sent);
        auto nothing = co_await stream.value()->read_length_prefixed(4096);
        CHECK_FALSE(nothing);

        // Everyone still serves: a fresh peer reaches A through R.
        Node b(io, false);
        auto relayed = co_await b.host.dial(through(r, a));
        REQUIRE(relayed);
        auto pinged = co_await b.host.ping(relayed.value());
        CHECK(pinged);
    });
}
