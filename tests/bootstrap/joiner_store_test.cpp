// The joiner's peer store on disk: written when it changes, at most once per interval, and at
// stop; learned addresses are filtered before they are stored.
#include <catch2/catch.hpp>

#include <filesystem>

#include <boost/asio/io_context.hpp>

#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/joiner.hpp"
#include "net/host.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
namespace asio = boost::asio;
namespace fs = std::filesystem;

TEST_CASE("reconnecting peers do not rewrite the peer store each time", "[joiner][hostile]") {
    const fs::path dir =
        fs::temp_directory_path() / ("swarmd-joiner-store-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    asio::io_context io;
    net::Host host(io.get_executor(), crypto::PrivateKey::generate());
    net::Host other(io.get_executor(), crypto::PrivateKey::generate());
    auto other_addr = other.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    bootstrap::DnsaddrResolver resolver(io, {});
    bootstrap::JoinOptions options;
    options.peer_store_path = dir / "peers.json";
    options.store_save_interval = std::chrono::hours(1);
    auto joiner = std::make_shared<bootstrap::Joiner>(
        io.get_executor(), host, resolver, bootstrap::PeerStore{}, std::vector<std::string>{},
        bootstrap::Hello{}, options, 1);
    net::testing::run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await host.dial(other_addr);
        REQUIRE(connection);
        // The same peer identified 50 times (a reconnect loop), with an address to keep and
        // addresses a loopback peer may give (any scope) or never (port 22, unspecified).
        for (int i = 0; i < 50; ++i)
            joiner->on_connected(
                connection.value(),
                {other_addr.to_string(), "/ip4/0.0.0.0/tcp/4001", "/ip4/10.0.0.1/tcp/22"});
    });
    CHECK(joiner->store_saves() == 1);
    REQUIRE(joiner->peer_store().peers().size() == 1);
    const auto& addrs = joiner->peer_store().peers()[0].addrs;
    REQUIRE(addrs.size() == 1);
    CHECK(addrs[0] == other_addr.without_peer_id().to_string());
    joiner->stop();
    CHECK(joiner->store_saves() == 2);
    CHECK(fs::exists(options.peer_store_path));
    host.stop();
    other.stop();
    fs::remove_all(dir);
}
