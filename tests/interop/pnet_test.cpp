// Private networks against js-libp2p's @libp2p/pnet: with the same key file swarmd and js
// connect both ways (identify, ping and bulk data through the XSalsa20 layer); with another key
// neither direction gets past the protector.
#include <sys/stat.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "crypto/psk.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
using swarmd::net::testing::run;
namespace asio = boost::asio;

namespace {

constexpr auto kLimit = std::chrono::seconds(60);

// A key file in the libp2p format, readable by its owner only, removed with the test.
struct KeyFile {
    std::filesystem::path path;
    explicit KeyFile(std::uint8_t seed) {
        crypto::Psk::Key key{};
        for (std::size_t i = 0; i < key.size(); ++i)
            key[i] = static_cast<std::uint8_t>(seed * 13 + i * 5);
        path = std::filesystem::temp_directory_path() /
               ("swarmd_pnet_" + std::to_string(::getpid()) + "_" + std::to_string(seed) + ".key");
        std::ofstream(path, std::ios::trunc) << crypto::Psk(key).to_file();
        ::chmod(path.c_str(), 0600);
    }
    ~KeyFile() { std::filesystem::remove(path); }
};

HostOptions options_from(const KeyFile& file) {
    auto psk = crypto::read_psk_file(file.path);
    REQUIRE(psk);
    HostOptions options;
    options.connection.psk = std::make_shared<const crypto::Psk>(psk.value());
    return options;
}

}  // namespace

TEST_CASE("js-libp2p dials swarmd in a private network: identify and ping", "[interop][pnet]") {
    const KeyFile key(1);
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate(), options_from(key));
    auto addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(
                io, {"dial", addr.value().to_string(), "--pings", "3", "--psk", key.path.string()});
            auto connected = co_await js.expect("connected");
            CHECK(connected["peerId"] == host.peer_id().to_base58());
            auto identify = co_await js.expect("identify");
            CHECK(identify["agentVersion"] == "swarmd/0.1.0");
            for (int i = 0; i < 3; ++i) co_await js.expect("ping");
            co_await js.expect("done");
        },
        kLimit);
}

TEST_CASE("swarmd dials js-libp2p in a private network: ping and bulk data", "[interop][pnet]") {
    const KeyFile key(2);
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate(), options_from(key));
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"listen", "--psk", key.path.string()});
            auto listening = co_await js.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            auto connection = co_await host.dial(js_addr.value());
            REQUIRE(connection);
            CHECK(connection.value()->remote_peer().to_base58() == listening["peerId"]);
            auto rtts = co_await host.ping(connection.value(), 3);
            REQUIRE(rtts);
            CHECK(rtts.value().size() == 3);

            // Writes of odd sizes, so the keystream crosses 64-byte blocks mid-write on both
            // sides; js counts what it decrypted.
            auto stream = co_await connection.value()->open_stream("/swarmd/bench/1.0.0");
            REQUIRE(stream);
            std::uint64_t sent = 0;
            for (std::size_t size : {1u, 63u, 4097u, 65537u, 300001u}) {
                Bytes chunk(size, static_cast<std::uint8_t>(size));
                auto written = co_await stream.value()->write(chunk);
                REQUIRE(written);
                sent += size;
            }
            stream.value()->close_write();
            std::array<std::uint8_t, 8> count{};
            auto read = co_await stream.value()->read_exact(count);
            REQUIRE(read);
            std::uint64_t total = 0;
            for (auto b : count) total = total << 8 | b;
            CHECK(total == sent);
            connection.value()->close();
        },
        kLimit);
}

TEST_CASE("swarmd and js-libp2p with different private network keys cannot connect",
          "[interop][pnet]") {
    const KeyFile ours(3);
    const KeyFile theirs(4);
    asio::io_context io;
    // A js listener that decrypts our header to garbage may wait for the length that garbage
    // announces instead of hanging up, leaving our dial to the handshake deadline.
    HostOptions options = options_from(ours);
    options.connection.handshake_timeout = std::chrono::seconds(3);
    Host host(io.get_executor(), crypto::PrivateKey::generate(), options);
    auto addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer listener(io, {"listen", "--psk", theirs.path.string()});
            auto listening = co_await listener.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            const auto started = std::chrono::steady_clock::now();
            auto connection = co_await host.dial(js_addr.value());
            REQUIRE_FALSE(connection);
            CHECK((connection.error() == Errc::private_network_mismatch ||
                   connection.error() == Errc::timeout));
            CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
            CHECK(host.connections().empty());

            auto mismatches = [&] {
                const auto& failures = host.stats().failed_by_reason;
                auto it = failures.find("private_network");
                return it == failures.end() ? std::uint64_t{0} : it->second;
            };
            const std::uint64_t before = mismatches();
            JsPeer dialer(io, {"dial", addr.value().to_string(), "--psk", theirs.path.string()});
            auto failed = co_await dialer.next();
            CHECK(failed["event"] == "error");
            co_await testing::wait_until([&] { return mismatches() == before + 1; });
            CHECK(mismatches() == before + 1);
            CHECK(host.connections().empty());
        },
        kLimit);
}
