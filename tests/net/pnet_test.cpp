// Private networks (libp2p pnet) between swarmd hosts on loopback: members with the same key
// connect and ping; a host with another key, or none, fails the upgrade quickly either way.
#include <chrono>
#include <memory>
#include <optional>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "crypto/psk.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "tests/net/host_fixture.hpp"
#include "tests/net/relay_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

namespace {

std::shared_ptr<const crypto::Psk> make_psk(std::uint8_t seed) {
    crypto::Psk::Key key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(seed + i * 7);
    return std::make_shared<const crypto::Psk>(key);
}

HostOptions options_with(std::shared_ptr<const crypto::Psk> psk) {
    HostOptions options;
    options.connection.psk = std::move(psk);
    options.identify_on_connect = false;
    return options;
}

struct Pair {
    asio::io_context io;
    Host a;
    Host b;
    Multiaddr a_addr;
    Multiaddr b_addr;
    Pair(std::shared_ptr<const crypto::Psk> a_psk, std::shared_ptr<const crypto::Psk> b_psk)
        : a(io.get_executor(), crypto::PrivateKey::generate(), options_with(std::move(a_psk))),
          b(io.get_executor(), crypto::PrivateKey::generate(), options_with(std::move(b_psk))),
          a_addr(a.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value()),
          b_addr(b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value()) {}
};

std::uint64_t failures(const Host& host, const std::string& reason) {
    const auto& failed = host.stats().failed_by_reason;
    const auto it = failed.find(reason);
    return it == failed.end() ? 0 : it->second;
}

// Dials `to` from `from` and expects the upgrade to fail well inside the handshake timeout.
asio::awaitable<std::error_code> dial_fails(Host& from, const Multiaddr& to) {
    const auto started = std::chrono::steady_clock::now();
    auto connection = co_await from.dial(to);
    REQUIRE_FALSE(connection);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    co_return connection.error();
}

}  // namespace

TEST_CASE("hosts with the same private network key connect and ping", "[pnet]") {
    const auto psk = make_psk(1);
    Pair pair(psk, psk);
    run(pair.io, [&]() -> asio::awaitable<void> {
        auto connection = co_await pair.a.dial(pair.b_addr);
        REQUIRE(connection);
        CHECK(connection.value()->remote_peer() == pair.b.peer_id());
        auto rtts = co_await pair.a.ping(connection.value(), 2);
        REQUIRE(rtts);
        CHECK(rtts.value().size() == 2);
        auto info = co_await pair.a.identify(connection.value());
        REQUIRE(info);

        // And the other way, on a connection of its own.
        auto back = co_await pair.b.dial(pair.a_addr);
        REQUIRE(back);
        auto pong = co_await pair.b.ping(back.value(), 1);
        REQUIRE(pong);
    });
}

TEST_CASE("a host with a private network key and one without cannot connect", "[pnet]") {
    Pair pair(make_psk(1), nullptr);
    run(pair.io, [&]() -> asio::awaitable<void> {
        // The member dials out: the other side sees our nonce as a bad multistream header and
        // hangs up.
        auto out = co_await dial_fails(pair.a, pair.b_addr);
        CHECK(out == Errc::private_network_mismatch);
        // The outsider dials in and reads our nonce as its multistream header: whichever
        // framing error that garbage makes (or the reset of our close, its header unread).
        auto in = co_await dial_fails(pair.b, pair.a_addr);
        INFO(in.message());
        CHECK((in.category() == net_category() || in == std::errc::connection_reset));
        CHECK(in != Errc::timeout);
        // Both count on the member's side: its own dial and the outsider's.
        co_await testing::wait_until([&] {
            return failures(pair.a, "private_network") == 2 && pair.a.connections().empty();
        });
        CHECK(failures(pair.a, "private_network") == 2);
    });
    CHECK(pair.a.connections().empty());
    CHECK(pair.b.connections().empty());
}

TEST_CASE("hosts with different private network keys cannot connect", "[pnet]") {
    Pair pair(make_psk(1), make_psk(2));
    run(pair.io, [&]() -> asio::awaitable<void> {
        auto out = co_await dial_fails(pair.a, pair.b_addr);
        CHECK(out == Errc::private_network_mismatch);
        auto in = co_await dial_fails(pair.b, pair.a_addr);
        CHECK(in == Errc::private_network_mismatch);
        co_await testing::wait_until([&] {
            return failures(pair.a, "private_network") == 2 &&
                   failures(pair.b, "private_network") == 2;
        });
        CHECK(failures(pair.a, "private_network") == 2);
        CHECK(failures(pair.b, "private_network") == 2);
    });
    CHECK(pair.a.connections().empty());
    CHECK(pair.b.connections().empty());
}

TEST_CASE("members of a private network reach each other through a member relay", "[pnet]") {
    // The connections to the relay are protected; the circuit inside them is not again (the
    // spec protects the underlying transport), yet it carries Noise, yamux and ping.
    const auto psk = make_psk(3);
    asio::io_context io;
    testing::RelayNode r(io, true, {}, options_with(psk));
    testing::RelayNode a(io, false, {}, options_with(psk));
    testing::RelayNode b(io, false, {}, options_with(psk));
    run(io, [&]() -> asio::awaitable<void> {
        auto granted = co_await a.relay->reserve(r.addr);
        REQUIRE(granted);
        auto connection = co_await b.host.dial(r.circuit_to(a.id()));
        REQUIRE(connection);
        CHECK(connection.value()->relayed());
        auto rtts = co_await b.host.ping(connection.value(), 2);
        REQUIRE(rtts);
        CHECK(rtts.value().size() == 2);
        connection.value()->close();
    });
}
