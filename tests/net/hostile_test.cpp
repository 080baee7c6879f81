// Hostile peers over real loopback sockets: each misbehaviour closes that connection with its
// typed error and phase, and the host goes on serving a well-behaved peer.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/varint.hpp"
#include "net/detail/secure_channel.hpp"
#include "net/detail/upgrade.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/multistream.hpp"
#include "net/yamux.hpp"
#include "tests/net/attacker.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

using namespace swarmd::net::testing;

TEST_CASE("oversized multistream length prefix closes with message_too_large", "[host][hostile]") {
    asio::io_context io;
    Target target(io);
    run(io, [&]() -> asio::awaitable<void> {
        auto socket = co_await connect_raw(target.addr);
        Bytes hostile;
        multistream_append(hostile, kMultistreamProtocol);
        varint_append(hostile, 1u << 20);  // a 1 MiB "protocol id"
        co_await asio::async_write(socket, asio::buffer(hostile), asio::use_awaitable);
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::message_too_large);
        CHECK(target.closed[0].phase == Phase::security_negotiation);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a transport frame cut short closes with truncated_message", "[host][hostile]") {
    asio::io_context io;
    Target target(io);
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        const Bytes partial{0x01, 0x00, 0xaa, 0xbb, 0xcc};  // announces 256 bytes, sends 3
        auto written = co_await attacker->write_raw(partial);
        REQUIRE(written);
        attacker->close_write();
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::truncated_message);
        CHECK(target.closed[0].phase == Phase::session);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a bad AEAD tag closes with bad_aead_tag", "[host][hostile]") {
    asio::io_context io;
    Target target(io);
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        Bytes forged{0x00, 0x20};
        forged.resize(2 + 32, 0x5a);  // 16 bytes of "ciphertext" and a made-up tag
        auto written = co_await attacker->write_raw(forged);
        REQUIRE(written);
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::bad_aead_tag);
        CHECK(target.closed[0].phase == Phase::session);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a yamux window violation closes with window_exceeded", "[host][hostile]") {
    asio::io_context io;
    Target target(io);
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        Bytes frames;
        constexpr std::uint32_t kTooMuch = YamuxOptions::kInitialWindow + 1024;
        yamux_header(frames, 0, 0x1, 1, kTooMuch);  // Data+SYN beyond the 256 KiB window
        frames.resize(frames.size() + kTooMuch, 0x42);
        // The host may hang up before it has read everything, so the write itself may fail.
        (void)co_await attacker->write_plain(frames);
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::window_exceeded);
        CHECK(target.closed[0].phase == Phase::session);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a stream flood beyond the limit closes with too_many_streams", "[host][hostile]") {
    asio::io_context io;
    HostOptions options;
    options.connection.max_streams = 8;
    Target target(io, options);
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        Bytes frames;
        for (std::uint32_t i = 0; i < 64; ++i) yamux_header(frames, 1, 0x1, 2 * i + 1, 0);  // SYNs
        auto written = co_await attacker->write_plain(frames);
        REQUIRE(written);
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::too_many_streams);
        CHECK(target.closed[0].phase == Phase::session);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("garbage instead of a Noise handshake closes in the handshake phase", "[host][hostile]") {
    asio::io_context io;
    Target target(io);
    run(io, [&]() -> asio::awaitable<void> {
        auto socket = co_await connect_raw(target.addr);
        Bytes hello;
        multistream_append(hello, kMultistreamProtocol);
        multistream_append(hello, kNoiseProtocolId);
        co_await asio::async_write(socket, asio::buffer(hello), asio::use_awaitable);
        // A 32-byte "ephemeral key" message followed by a message-2-sized blob of zeros.
        Bytes junk{0x00, 0x05, 1, 2, 3, 4, 5};
        co_await asio::async_write(socket, asio::buffer(junk), asio::use_awaitable);
        co_await testing::wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::bad_handshake_message);
        CHECK(target.closed[0].phase == Phase::noise_handshake);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a peer that goes silent after the upgrade is closed by the idle timeout",
          "[host][hostile]") {
    asio::io_context io;
    HostOptions options;
    options.connection.idle_timeout = 300ms;
    Target target(io, options);
    run(io, [&]() -> asio::awaitable<void> {
        // Upgrades, then never answers the host's keepalive pings nor sends anything.
        auto attacker = co_await upgraded_attacker(target.addr);
        co_await testing::wait_until([&] { return !target.closed.empty(); }, 3s);
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::timeout);
        CHECK(target.closed[0].phase == Phase::session);
        co_await still_serving(io, target.addr);
    });
}
