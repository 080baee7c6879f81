#pragma once
// An attacker's toolkit for hostile-peer tests over real loopback sockets: a target host that
// records how its connections ended, raw and upgraded (past Noise) attacker sockets, and yamux
// frame building.
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "net/detail/secure_channel.hpp"
#include "net/detail/upgrade.hpp"
#include "net/host.hpp"
#include "tests/net/host_fixture.hpp"

namespace swarmd::net::testing {

namespace asio = boost::asio;

// A field of /proc/self/status in KiB: VmRSS (now) or VmHWM (the peak since the last reset).
inline std::size_t memory_kib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1));
    return 0;
}

// Measures the peak RSS growth over a flood: construct before it, read growth_mib() after.
struct RssProbe {
    RssProbe() {
        // "5" resets VmHWM to the current RSS (Linux 4.0+), so earlier tests' peaks do not count.
        std::ofstream("/proc/self/clear_refs") << "5";
        before = memory_kib("VmRSS");
    }
    std::size_t growth_mib() const {
        const std::size_t peak = memory_kib("VmHWM");
        return peak > before ? (peak - before) / 1024 : 0;
    }
    std::size_t before = 0;
};

struct Closed {
    std::error_code reason;
    std::optional<Phase> phase;
};

// A host under attack plus a record of how its connections ended.
struct Target {
    explicit Target(asio::io_context& io, HostOptions options = {})
        : host(io.get_executor(), crypto::PrivateKey::generate(), std::move(options)) {
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        host.on_connection_closed([this](const std::shared_ptr<Connection>& c) {
            closed.push_back({c->close_reason(), c->failed_phase()});
        });
    }
    Host host;
    Multiaddr addr;
    std::vector<Closed> closed;
};

inline asio::awaitable<asio::ip::tcp::socket> connect_raw(const Multiaddr& addr) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    const auto endpoint = addr.tcp_endpoint().value();
    co_await socket.async_connect({asio::ip::make_address(endpoint.host), endpoint.port},
                                  asio::use_awaitable);
    co_return socket;
}

// An attacker that completes the real upgrade (so it is past Noise) and then misbehaves.
inline const crypto::PrivateKey& attacker_key() {
    static const crypto::PrivateKey key = crypto::PrivateKey::generate();
    return key;
}

inline crypto::PeerId attacker_id() {
    return crypto::PeerId::from_public_key(attacker_key().public_key());
}

inline asio::awaitable<std::unique_ptr<detail::SecureChannel>> upgraded_attacker(
    const Multiaddr& addr) {
    auto channel = std::make_unique<detail::SecureChannel>(co_await connect_raw(addr));
    const crypto::PrivateKey& key = attacker_key();
    auto identity = std::make_shared<NoiseIdentity>(key);
    Phase phase{};
    auto remote = co_await detail::upgrade(*channel, true, identity, addr.peer_id(), phase);
    REQUIRE(remote);
    co_return channel;
}

// The host still serves: a fresh, honest peer connects and pings.
inline asio::awaitable<void> still_serving(asio::io_context& io, const Multiaddr& addr) {
    Host honest(io.get_executor(), crypto::PrivateKey::generate());
    auto connection = co_await honest.dial(addr);
    REQUIRE(connection);
    auto rtts = co_await honest.ping(connection.value());
    CHECK(rtts);
    connection.value()->close();
    co_await testing::wait_until([&] { return honest.connection_count() == 0; });
}

inline void yamux_header(Bytes& out, std::uint8_t type, std::uint16_t flags, std::uint32_t id,
                         std::uint32_t length) {
    out.insert(out.end(),
               {0, type, static_cast<std::uint8_t>(flags >> 8), static_cast<std::uint8_t>(flags),
                static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
                static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id),
                static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
                static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)});
}

}  // namespace swarmd::net::testing
