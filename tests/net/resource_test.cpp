// Resource attacks over real loopback sockets: a peer that floods pings and never reads, streams
// left full of unread data, and honest bulk transfers that must still fit under the same limits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/error.hpp"
#include "net/identify.hpp"
#include "net/log.hpp"
#include "net/multistream.hpp"
#include "tests/net/attacker.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace swarmd::net::testing;
using namespace std::chrono_literals;

namespace {

// Data frame opening stream `id` on `protocol`: the multistream header and the protocol line.
void open_on(Bytes& frames, std::uint32_t id, std::string_view protocol) {
    Bytes lines;
    multistream_append(lines, kMultistreamProtocol);
    multistream_append(lines, protocol);
    yamux_header(frames, 0, 0x1, id, static_cast<std::uint32_t>(lines.size()));
    append(frames, lines);
}

void junk_on(Bytes& frames, std::uint32_t id, std::size_t size) {
    yamux_header(frames, 0, 0, id, static_cast<std::uint32_t>(size));
    frames.resize(frames.size() + size, 0x42);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

TEST_CASE("a ping flood from a peer that never reads closes with peer_not_reading",
          "[host][hostile][resources]") {
    asio::io_context io;
    Target target(io);  // default limits: the outbound queue holds at most 32 MiB
    RssProbe rss;
    std::size_t sent = 0;
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto attacker = co_await upgraded_attacker(target.addr);
            Bytes pings;
            for (std::uint32_t i = 0; i < 5000; ++i) yamux_header(pings, 2, 0x1, 0, i);
            // 256 MiB of pings would queue 256 MiB of pongs; the host must hang up long before.
            while (target.closed.empty() && sent < 256u * 1024 * 1024) {
                auto written = co_await attacker->write_plain(pings);
                if (!written) break;
                sent += pings.size();
            }
            co_await wait_until([&] { return !target.closed.empty(); }, 10s);
            REQUIRE(target.closed.size() == 1);
            CHECK(target.closed[0].reason == Errc::peer_not_reading);
            CHECK(target.closed[0].phase == Phase::session);
            co_await still_serving(io, target.addr);
        },
        60s);
    const std::size_t growth_mib = rss.growth_mib();
    INFO("pings sent " << sent / (1024 * 1024) << " MiB, peak RSS growth " << growth_mib << " MiB");
    // The queue's 32 MiB plus one batch being encrypted and the socket's own buffers.
    CHECK(growth_mib < 128);
    WARN("ping flood: " << sent / (1024 * 1024) << " MiB of pings, peak RSS growth " << growth_mib
                        << " MiB (bound 128 MiB)");
}

TEST_CASE("streams whose handler is done drop unread data and are reset when left half-open",
          "[host][hostile][resources]") {
    asio::io_context io;
    HostOptions options;
    options.connection.half_close_timeout = 300ms;
    options.identify_on_connect = false;  // only the attacker's streams, then
    Target target(io, options);
    RssProbe rss;
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        // 32 identify streams, each answered at once, each then fed 200 KiB that nobody reads,
        // and never closed by the attacker.
        Bytes frames;
        for (std::uint32_t i = 0; i < 32; ++i) {
            open_on(frames, 2 * i + 1, kIdentifyProtocol);
            junk_on(frames, 2 * i + 1, 200 * 1024);
        }
        auto written = co_await attacker->write_plain(frames);
        REQUIRE(written);
        std::shared_ptr<Connection> held;
        co_await wait_until([&] {
            held = target.host.connection_to(attacker_id());
            return held && held->stream_count() == 32;
        });
        REQUIRE(held);
        co_await sleep_for(100ms);
        // 6.4 MB arrived; what the host keeps of it is at most one frame in flight.
        CHECK(held->unread_bytes() < 256 * 1024);
        co_await wait_until([&] { return held->stream_count() == 0; }, 3s);
        CHECK(held->stream_count() == 0);
        CHECK(held->state() == Connection::State::open);
        co_await still_serving(io, target.addr);
    });
    // The attacker's own 6.4 MB of frames, and their ciphertext, are in this process too.
    WARN("unread-stream flood: 6.4 MB sent on finished streams, peak RSS growth "
         << rss.growth_mib() << " MiB (bound 32 MiB)");
    CHECK(rss.growth_mib() < 32);
}

TEST_CASE("unread data over the connection's budget closes with inbound_budget",
          "[host][hostile][resources]") {
    asio::io_context io;
    HostOptions options;
    options.connection.max_unread = 256 * 1024;
    Target target(io, options);
    // A handler that takes its time and reads nothing meanwhile.
    target.host.set_handler(
        "/test/sink/1.0.0", [](std::shared_ptr<Stream>) -> asio::awaitable<void> {
            asio::steady_timer timer(co_await asio::this_coro::executor, 5s);
            boost::system::error_code ignored;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        });
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        Bytes frames;
        for (std::uint32_t i = 0; i < 4; ++i) {
            open_on(frames, 2 * i + 1, "/test/sink/1.0.0");
            junk_on(frames, 2 * i + 1, 150 * 1024);
        }
        (void)co_await attacker->write_plain(frames);
        co_await wait_until([&] { return !target.closed.empty(); });
        REQUIRE(target.closed.size() == 1);
        CHECK(target.closed[0].reason == Errc::inbound_budget);
        co_await still_serving(io, target.addr);
    });
}

TEST_CASE("a bulk transfer larger than the outbound limit reaches an honest reader",
          "[host][resources]") {
    asio::io_context io;
    HostOptions options;
    options.connection.max_outbound_queue = 4 * 1024 * 1024;
    Host sender(io.get_executor(), crypto::PrivateKey::generate(), options);
    Host receiver(io.get_executor(), crypto::PrivateKey::generate(), options);
    constexpr std::size_t kSize = 48u * 1024 * 1024;
    sender.set_handler("/test/bulk/1.0.0",
                       [](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
                           Bytes chunk(8 * 1024 * 1024);
                           for (std::size_t i = 0; i < chunk.size(); ++i)
                               chunk[i] = static_cast<std::uint8_t>(i * 7);
                           for (std::size_t sent = 0; sent < kSize; sent += chunk.size()) {
                               auto written = co_await stream->write(chunk);
                               if (!written) co_return;
                           }
                           stream->close_write();
                       });
    auto addr = sender.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto connection = co_await receiver.dial(addr);
            REQUIRE(connection);
            auto stream = co_await connection.value()->open_stream("/test/bulk/1.0.0");
            REQUIRE(stream);
            stream.value()->close_write();
            auto body = co_await stream.value()->read_to_end(kSize);
            REQUIRE(body);
            CHECK(body.value().size() == kSize);
            CHECK(body.value()[kSize - 1] ==
                  static_cast<std::uint8_t>(((kSize - 1) % (8u << 20)) * 7));
        },
        60s);
}

namespace {

// A raw socket from a chosen loopback address (the whole of 127.0.0.0/8 is this machine, so
// tests can play peers at distinct addresses), left idle: it never starts the handshake.
asio::awaitable<asio::ip::tcp::socket> idle_socket_from(const std::string& source,
                                                        const Multiaddr& target) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(asio::ip::tcp::v4());
    socket.bind({asio::ip::make_address(source), 0});
    const auto endpoint = target.tcp_endpoint().value();
    co_await socket.async_connect({asio::ip::make_address(endpoint.host), endpoint.port},
                                  asio::use_awaitable);
    co_return socket;
}

// Counts the lines the net logger writes that contain `needle`, while it lives.
struct LogCounter {
    explicit LogCounter(std::string needle)
        : sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out)), needle(std::move(needle)) {
        net_log().sinks().push_back(sink);
    }
    ~LogCounter() {
        auto& sinks = net_log().sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
    }
    std::size_t count() const {
        std::istringstream lines(out.str());
        std::size_t n = 0;
        for (std::string line; std::getline(lines, line);)
            if (line.find(needle) != std::string::npos) ++n;
        return n;
    }
    std::ostringstream out;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
    std::string needle;
};

}  // namespace

TEST_CASE("idle sockets from one address hold at most its handshake slots; others still connect",
          "[host][hostile][resources]") {
    asio::io_context io;
    HostOptions options;
    options.limit_loopback = true;  // 127.0.0.2 plays a remote attacker, 127.0.0.1 an honest peer
    Target target(io, options);
    LogCounter refusals("connection refused");
    RssProbe rss;
    run(io, [&]() -> asio::awaitable<void> {
        std::vector<asio::ip::tcp::socket> idle;
        for (int i = 0; i < 200; ++i)
            idle.push_back(co_await idle_socket_from("127.0.0.2", target.addr));
        co_await wait_until([&] {
            const HostStats& s = target.host.stats();
            return s.refused_handshake_limit + s.refused_address_limit >= 196;
        });
        CHECK(target.host.connection_count() == options.max_handshakes_per_address);
        CHECK(target.host.stats().refused_handshake_limit == 196);
        // 196 refusals, one log line.
        CHECK(refusals.count() == 1);
        co_await still_serving(io, target.addr);
    });
    WARN("idle-socket flood: 200 sockets, peak RSS growth " << rss.growth_mib()
                                                            << " MiB (bound 8 MiB)");
    CHECK(rss.growth_mib() < 8);
}

TEST_CASE("a full inbound table does not stop the host dialing out", "[host][hostile][resources]") {
    asio::io_context io;
    HostOptions options;
    options.max_inbound = 4;
    Target target(io, options);
    Host other(io.get_executor(), crypto::PrivateKey::generate());
    auto other_addr = other.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    run(io, [&]() -> asio::awaitable<void> {
        std::vector<asio::ip::tcp::socket> idle;
        for (int i = 0; i < 12; ++i)
            idle.push_back(
                co_await idle_socket_from(fmt::format("127.0.0.{}", 3 + i), target.addr));
        co_await wait_until([&] { return target.host.stats().refused_inbound_limit == 8; });
        CHECK(target.host.stats().refused_inbound_limit == 8);
        auto out = co_await target.host.dial(other_addr);
        REQUIRE(out);
        auto rtts = co_await target.host.ping(out.value());
        CHECK(rtts);
    });
}

TEST_CASE("connections that failed are counted by reason", "[host][hostile][resources]") {
    asio::io_context io;
    HostOptions options;
    options.connection.max_streams = 4;
    Target target(io, options);
    run(io, [&]() -> asio::awaitable<void> {
        auto attacker = co_await upgraded_attacker(target.addr);
        Bytes frames;
        for (std::uint32_t i = 0; i < 16; ++i) yamux_header(frames, 1, 0x1, 2 * i + 1, 0);
        (void)co_await attacker->write_plain(frames);
        co_await wait_until([&] { return !target.closed.empty(); });
        const auto& failed = target.host.stats().failed_by_reason;
        REQUIRE(failed.contains("too_many_streams"));
        CHECK(failed.at("too_many_streams") == 1);
    });
}
