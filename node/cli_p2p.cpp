#include "node/cli_p2p.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "crypto/keys.hpp"
#include "net/host.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::node {
namespace {

namespace asio = boost::asio;
using net::Host;
using net::Multiaddr;

constexpr const char* kDefaultListen = "/ip4/0.0.0.0/tcp/4001";
constexpr std::size_t kDefaultPingCount = 3;

struct P2pArgs {
    std::vector<std::string> listen{kDefaultListen};
    std::string key_file;
    std::string target;
    std::size_t count = kDefaultPingCount;
};

[[noreturn]] void fail(const std::string& what) {
    std::cerr << "swarmd: " << what << "\n";
    throw CLI::RuntimeError(1);
}

// stdout carries the command's results; logs go to stderr.
void log_to_stderr() {
    if (!spdlog::get("net")) spdlog::stderr_color_mt("net");
}

crypto::PrivateKey load_key(const std::string& path) {
    if (path.empty()) return crypto::PrivateKey::generate();
    auto key = crypto::read_key_file(path);
    if (!key) fail(path + ": " + key.error().message());
    return std::move(key).value();
}

Multiaddr parse_addr(const std::string& text) {
    auto addr = Multiaddr::parse(text);
    if (!addr) fail("bad multiaddr " + text + ": " + addr.error().message());
    return addr.value();
}

// An unspecified listen address (0.0.0.0) is expanded to this machine's IPv4 addresses, the
// form other peers can dial.
std::vector<Multiaddr> dialable(const Multiaddr& bound, const crypto::PeerId& id) {
    const auto endpoint = bound.tcp_endpoint();
    if (!endpoint || endpoint->host != "0.0.0.0") return {bound};
    std::vector<Multiaddr> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return {bound};
    for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
        const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
        const asio::ip::address_v4 ip(ntohl(in->sin_addr.s_addr));
        if (auto addr = Multiaddr::from_ip_tcp(ip.to_string(), endpoint->port))
            out.push_back(addr.value().with_peer_id(id));
    }
    freeifaddrs(list);
    return out.empty() ? std::vector<Multiaddr>{bound} : out;
}

// Runs `body` on a fresh io_context; SIGINT/SIGTERM stop it.
template <class Body>
void run_host(Body body, net::HostOptions options, crypto::PrivateKey key) {
    asio::io_context io;
    Host host(io.get_executor(), std::move(key), std::move(options));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        host.stop();
        io.stop();
    });
    std::optional<std::string> error;
    asio::co_spawn(io, body(host), [&](std::exception_ptr e, std::optional<std::string> result) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                result = ex.what();
            }
        }
        error = std::move(result);
        host.stop();
        signals.cancel();
    });
    io.run();
    if (error) fail(*error);
}

void run_listen(const P2pArgs& args) {
    auto key = load_key(args.key_file);
    asio::io_context io;
    Host host(io.get_executor(), std::move(key));
    for (const std::string& text : args.listen) {
        auto bound = host.listen(parse_addr(text));
        if (!bound) fail("cannot listen on " + text + ": " + bound.error().message());
        for (const Multiaddr& addr : dialable(bound.value(), host.peer_id()))
            std::cout << addr.to_string() << "\n";
    }
    std::cout << std::flush;
    host.on_identify([](const auto& connection, const net::IdentifyInfo& info) {
        spdlog::get("net")->info("identified peer={} agent={} addr={}",
                                 connection->remote_peer().to_base58(), info.agent_version,
                                 connection->remote_addr().to_string());
    });
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer grace(io);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        host.stop();
        // Give the graceful closes (GoAway) a moment to leave, then end.
        grace.expires_after(std::chrono::milliseconds(200));
        grace.async_wait([&](const boost::system::error_code&) { io.stop(); });
    });
    io.run();
}

void run_ping(const P2pArgs& args) {
    const Multiaddr target = parse_addr(args.target);
    net::HostOptions options;
    options.identify_on_connect = false;
    run_host(
        [&](Host& host) -> asio::awaitable<std::optional<std::string>> {
            auto connection = co_await host.dial(target);
            if (!connection)
                co_return "dial " + target.to_string() + ": " + connection.error().message();
            std::cout << "PING " << connection.value()->remote_peer().to_base58() << "\n";
            auto rtts = co_await host.ping(connection.value(), args.count);
            if (!rtts) co_return "ping: " + rtts.error().message();
            for (std::size_t i = 0; i < rtts.value().size(); ++i) {
                const double ms =
                    std::chrono::duration<double, std::milli>(rtts.value()[i]).count();
                std::cout << "pong " << (i + 1) << ": rtt=" << ms << " ms\n";
            }
            std::cout << std::flush;
            connection.value()->close();
            co_return std::nullopt;
        },
        options, load_key(args.key_file));
}

void run_identify(const P2pArgs& args) {
    const Multiaddr target = parse_addr(args.target);
    net::HostOptions options;
    options.identify_on_connect = false;
    run_host(
        [&](Host& host) -> asio::awaitable<std::optional<std::string>> {
            auto connection = co_await host.dial(target);
            if (!connection)
                co_return "dial " + target.to_string() + ": " + connection.error().message();
            auto info = co_await host.identify(connection.value());
            if (!info) co_return "identify: " + info.error().message();
            const auto& i = info.value();
            std::cout << "peer: " << connection.value()->remote_peer().to_base58() << "\n"
                      << "agent: " << i.agent_version << "\n"
                      << "protocol version: " << i.protocol_version << "\n"
                      << "protocols:\n";
            for (const std::string& p : i.protocols) std::cout << "  " << p << "\n";
            std::cout << "addresses:\n";
            for (const Bytes& raw : i.listen_addrs) {
                auto addr = Multiaddr::from_bytes(raw);
                std::cout << "  "
                          << (addr ? addr.value().to_string()
                                   : "(unreadable: " + addr.error().message() + ")")
                          << "\n";
            }
            if (i.observed_addr) {
                auto addr = Multiaddr::from_bytes(*i.observed_addr);
                if (addr) std::cout << "observed address: " << addr.value().to_string() << "\n";
            }
            std::cout << std::flush;
            connection.value()->close();
            co_return std::nullopt;
        },
        options, load_key(args.key_file));
}

}  // namespace

void add_p2p_commands(CLI::App& app) {
    auto args = std::make_shared<P2pArgs>();
    auto* p2p = app.add_subcommand("p2p", "libp2p tools: listen, ping, identify");
    p2p->require_subcommand(1);

    auto* listen =
        p2p->add_subcommand("listen", "Listen, print our full multiaddrs, serve until SIGINT");
    listen->add_option("--listen", args->listen, "Multiaddr to listen on (repeatable)")
        ->capture_default_str();
    listen->add_option("--key", args->key_file, "Identity key file (default: a fresh key)");
    listen->callback([args] {
        log_to_stderr();
        run_listen(*args);
    });

    auto* ping = p2p->add_subcommand("ping", "Ping a peer over /ipfs/ping/1.0.0 and print RTTs");
    ping->add_option("maddr", args->target, "Multiaddr of the peer, with /p2p/<id>")->required();
    ping->add_option("-n,--count", args->count, "Number of pings")->capture_default_str();
    ping->add_option("--key", args->key_file, "Identity key file (default: a fresh key)");
    ping->callback([args] {
        log_to_stderr();
        run_ping(*args);
    });

    auto* identify =
        p2p->add_subcommand("identify", "Print a peer's agent, protocols and addresses");
    identify->add_option("maddr", args->target, "Multiaddr of the peer, with /p2p/<id>")
        ->required();
    identify->add_option("--key", args->key_file, "Identity key file (default: a fresh key)");
    identify->callback([args] {
        log_to_stderr();
        run_identify(*args);
    });
}

}  // namespace swarmd::node
