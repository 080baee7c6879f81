// swarmd against js-libp2p (Set A, tests/interop/package-lock.json), both directions, over
// loopback: Noise completes, yamux streams open, identify reports the right peer id and
// protocols each way, ping answers.
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "net/peer_record.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
using swarmd::net::testing::run;
namespace asio = boost::asio;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

constexpr auto kLimit = std::chrono::seconds(60);

}  // namespace

TEST_CASE("js-libp2p dials swarmd: identify and ping both ways", "[interop]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    std::optional<IdentifyInfo> js_info;
    crypto::PeerId js_id_seen;
    host.on_identify([&](const auto& connection, const IdentifyInfo& info) {
        js_info = info;
        js_id_seen = connection->remote_peer();
    });

    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"dial", addr.value().to_string(), "--pings", "3"});
            auto connected = co_await js.expect("connected");
            CHECK(connected["peerId"] == host.peer_id().to_base58());

            auto identify = co_await js.expect("identify");
            CHECK(identify["peerId"] == host.peer_id().to_base58());
            CHECK(identify["agentVersion"] == "swarmd/0.1.0");
            CHECK(identify["protocolVersion"] == "ipfs/0.1.0");
            const auto protocols = identify["protocols"].get<std::vector<std::string>>();
            CHECK(contains(protocols, "/ipfs/id/1.0.0"));
            CHECK(contains(protocols, "/ipfs/ping/1.0.0"));
            const auto listen = identify["listenAddrs"].get<std::vector<std::string>>();
            CHECK(contains(listen, addr.value().without_peer_id().to_string()));
            // js verified our signed peer record (it drops identify when a record fails).
            REQUIRE(identify.contains("signedPeerRecord"));
            CHECK(
                contains(identify["signedPeerRecord"]["addresses"].get<std::vector<std::string>>(),
                         addr.value().without_peer_id().to_string()));

            for (int i = 0; i < 3; ++i) {
                auto ping = co_await js.expect("ping");
                CHECK(ping["rtt"].get<double>() >= 0);
            }
            co_await js.expect("done");
            // swarmd identified the js dialer on the same connection.
            co_await testing::wait_until([&] { return js_info.has_value(); });
            REQUIRE(js_info);
            CHECK(js_info->agent_version.rfind("js-libp2p/", 0) == 0);
            CHECK(contains(js_info->protocols, "/ipfs/id/1.0.0"));
            CHECK(contains(js_info->protocols, "/ipfs/ping/1.0.0"));
            CHECK(js_id_seen.to_base58() == connected["self"]);
            CHECK(crypto::PeerId::from_public_key(*js_info->public_key) == js_id_seen);
        },
        kLimit);
}

TEST_CASE("swarmd dials js-libp2p: identify, ping, and js identifies and pings back", "[interop]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());

    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"listen", "--ping-back", "2"});
            auto listening = co_await js.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            const std::string js_id = listening["peerId"];
            CHECK(js_addr.value().peer_id()->to_base58() == js_id);

            auto connection = co_await host.dial(js_addr.value());
            REQUIRE(connection);
            CHECK(connection.value()->remote_peer().to_base58() == js_id);

            auto info = co_await host.identify(connection.value());
            REQUIRE(info);
            CHECK(crypto::PeerId::from_public_key(*info.value().public_key).to_base58() == js_id);
            CHECK(info.value().agent_version.rfind("js-libp2p/", 0) == 0);
            CHECK(contains(info.value().protocols, "/ipfs/id/1.0.0"));
            CHECK(contains(info.value().protocols, "/ipfs/ping/1.0.0"));
            REQUIRE(!info.value().listen_addrs.empty());
            CHECK(Multiaddr::from_bytes(info.value().listen_addrs[0]).value() ==
                  js_addr.value().without_peer_id());
            const Bytes* js_record =
                host.peer_records().envelope(connection.value()->remote_peer());
            REQUIRE(js_record != nullptr);
            auto opened = open_peer_record(*js_record);
            REQUIRE(opened);
            const auto& addrs = opened.value().addresses;
            CHECK(std::find(addrs.begin(), addrs.end(), js_addr.value().without_peer_id()) !=
                  addrs.end());

            auto rtts = co_await host.ping(connection.value(), 3);
            REQUIRE(rtts);
            CHECK(rtts.value().size() == 3);

            // js ran identify on the inbound connection and pings us over it.
            auto js_identify = co_await js.expect("identify");
            CHECK(js_identify["peerId"] == host.peer_id().to_base58());
            CHECK(js_identify["agentVersion"] == "swarmd/0.1.0");
            const auto protocols = js_identify["protocols"].get<std::vector<std::string>>();
            CHECK(contains(protocols, "/ipfs/id/1.0.0"));
            CHECK(contains(protocols, "/ipfs/ping/1.0.0"));
            for (int i = 0; i < 2; ++i) {
                auto ping = co_await js.expect("ping");
                CHECK(ping["peerId"] == host.peer_id().to_base58());
            }
            connection.value()->close();
        },
        kLimit);
}

TEST_CASE("swarmd streams bulk data to js-libp2p beyond the initial yamux window", "[interop]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"listen"});
            auto listening = co_await js.expect("listening");
            auto connection = co_await host.dial(
                Multiaddr::parse(listening["addrs"][0].get<std::string>()).value());
            REQUIRE(connection);
            // Several streams at once, each well past 256 KiB, so window updates must flow both
            // ways.
            constexpr std::size_t kStreams = 4;
            constexpr std::size_t kBytes = 3 * 1024 * 1024;
            std::size_t finished = 0;
            std::exception_ptr failure;
            for (std::size_t s = 0; s < kStreams; ++s) {
                asio::co_spawn(
                    io,
                    [&, s]() -> asio::awaitable<void> {
                        auto stream =
                            co_await connection.value()->open_stream("/swarmd/bench/1.0.0");
                        REQUIRE(stream);
                        Bytes chunk(64 * 1024, static_cast<std::uint8_t>(s));
                        for (std::size_t sent = 0; sent < kBytes; sent += chunk.size()) {
                            auto written = co_await stream.value()->write(chunk);
                            REQUIRE(written);
                        }
                        stream.value()->close_write();
                        std::array<std::uint8_t, 8> count{};
                        auto read = co_await stream.value()->read_exact(count);
                        REQUIRE(read);
                        std::uint64_t total = 0;
                        for (auto b : count) total = total << 8 | b;
                        CHECK(total == kBytes);
                        ++finished;
                    },
                    [&](std::exception_ptr e) {
                        if (e) failure = e;
                        if (e) ++finished;
                    });
            }
            co_await testing::wait_until([&] { return finished == kStreams; },
                                         std::chrono::seconds(50));
            if (failure) std::rethrow_exception(failure);
            CHECK(finished == kStreams);
        },
        kLimit);
}

TEST_CASE("swarmd dialing js-libp2p under a wrong peer id fails with peer_id_mismatch",
          "[interop]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"listen"});
            auto listening = co_await js.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>()).value();
            const auto other =
                crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
            auto wrong = co_await host.dial(js_addr.without_peer_id().with_peer_id(other));
            REQUIRE(!wrong);
            CHECK(wrong.error() == Errc::peer_id_mismatch);
            auto right = co_await host.dial(js_addr);
            REQUIRE(right);
            auto rtts = co_await host.ping(right.value());
            CHECK(rtts);
        },
        kLimit);
}
