// `swarmd p2p listen|ping|identify|sub|pub`: one libp2p host on a fresh io_context per command.
// stdout carries the command's results, one item per line; logs go to stderr.
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "crypto/keys.hpp"
#include "net/host.hpp"
#include "net/interface_addrs.hpp"
#include "net/multiaddr.hpp"
#include "net/pubsub.hpp"
#include "node/cli/cli.hpp"
#include "node/daemon.hpp"

namespace swarmd::node {
namespace {

namespace asio = boost::asio;
using net::Host;
using net::Multiaddr;
using namespace std::chrono_literals;

constexpr const char* kDefaultListen = "/ip4/0.0.0.0/tcp/4001";
constexpr const char* kDefaultGossipListen = "/ip4/0.0.0.0/tcp/0";
constexpr std::size_t kDefaultPingCount = 3;
constexpr double kDefaultPubWaitSeconds = 10;
// How long closing connections get to put their last frames (GoAway) on the wire.
constexpr auto kCloseGrace = 200ms;
constexpr auto kPollInterval = 10ms;
// How long a finishing sub or pub waits for its last frames to leave.
constexpr auto kDrainLimit = 2000ms;

struct P2pArgs {
    std::vector<std::string> listen;
    std::vector<std::string> peers;
    std::string key_file;
    std::string target;
    std::string topic;
    std::string data;
    std::size_t count = 0;
    double wait_seconds = kDefaultPubWaitSeconds;
    // What the node options say about who may connect (--psk-file, --allow-peer).
    net::HostOptions host;
};

// Thrown inside a command; run_cli prints it as "swarmd: <what>" and exits 1.
[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

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

// Binds every address; returns the dialable forms.
std::vector<std::string> listen_all(Host& host, const std::vector<std::string>& addrs) {
    std::vector<std::string> out;
    for (const std::string& text : addrs) {
        auto bound = host.listen(parse_addr(text));
        if (!bound) fail("cannot listen on " + text + ": " + bound.error().message());
        for (const Multiaddr& addr : dialable_addrs(bound.value())) out.push_back(addr.to_string());
    }
    return out;
}

void print_lines(const std::vector<std::string>& lines) {
    for (const auto& line : lines) std::cout << line << "\n";
    std::cout << std::flush;
}

// Binds every address and prints the dialable forms, one per line.
void listen_and_print(Host& host, const std::vector<std::string>& addrs) {
    print_lines(listen_all(host, addrs));
}

// One line whatever the payload: printable ASCII as is, backslash and other bytes escaped.
std::string escape_line(ByteSpan data) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size());
    for (std::uint8_t b : data) {
        if (b == '\\') {
            out += "\\\\";
        } else if (b >= 0x20 && b < 0x7f) {
            out += static_cast<char>(b);
        } else {
            out += "\\x";
            out += kHex[b >> 4];
            out += kHex[b & 0xf];
        }
    }
    return out;
}

// A command's work: a coroutine on the host's io_context that returns an error text or nothing.
using Body = std::function<asio::awaitable<std::optional<std::string>>()>;

// Runs `body`; SIGINT/SIGTERM end it early (exit 0). Afterwards `stop` runs, the host closes
// its connections gracefully and the io_context gets kCloseGrace to send the goodbyes.
void run_body(asio::io_context& io, Host& host, Body body, std::function<void()> stop = {}) {
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer grace(io);
    bool finished = false;
    std::optional<std::string> error;
    auto finish = [&] {
        if (finished) return;
        finished = true;
        signals.cancel();
        if (stop) stop();
        host.stop();
        grace.expires_after(kCloseGrace);
        grace.async_wait([&](const boost::system::error_code&) { io.stop(); });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (!ec) finish();
    });
    asio::co_spawn(io, body(), [&](std::exception_ptr e, std::optional<std::string> result) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                result = ex.what();
            }
        }
        if (!finished) error = std::move(result);
        finish();
    });
    io.run();
    if (error) fail(*error);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(asio::use_awaitable);
}

// Waits until every frame queued for `peers` has been handed to the transport; false if the
// deadline came first.
asio::awaitable<bool> drain(const net::gossipsub::Router& router,
                            const std::vector<crypto::PeerId>& peers,
                            std::chrono::steady_clock::time_point deadline) {
    auto sent = [&] {
        return std::all_of(peers.begin(), peers.end(),
                           [&](const crypto::PeerId& p) { return router.queued_bytes(p) == 0; });
    };
    while (!sent() && std::chrono::steady_clock::now() < deadline)
        co_await sleep_for(kPollInterval);
    co_return sent();
}

int run_listen(const P2pArgs& args) {
    asio::io_context io;
    Host host(io.get_executor(), load_key(args.key_file), args.host);
    listen_and_print(host, args.listen);
    auto log = category_log("net");
    host.on_identify([log](const auto& connection, const net::IdentifyInfo& info) {
        log->info("identified peer={} agent={} addr={}", connection->remote_peer().to_base58(),
                  info.agent_version, connection->remote_addr().to_string());
    });
    // Serves until a signal: the body never finishes on its own.
    asio::steady_timer forever(io, asio::steady_timer::time_point::max());
    run_body(
        io, host,
        [&]() -> asio::awaitable<std::optional<std::string>> {
            boost::system::error_code ec;
            co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            co_return std::nullopt;
        },
        [&] { forever.cancel(); });
    return 0;
}

int run_ping(const P2pArgs& args) {
    const Multiaddr target = parse_addr(args.target);
    asio::io_context io;
    net::HostOptions options = args.host;
    options.identify_on_connect = false;
    Host host(io.get_executor(), load_key(args.key_file), options);
    run_body(io, host, [&]() -> asio::awaitable<std::optional<std::string>> {
        auto connection = co_await host.dial(target);
        if (!connection)
            co_return "dial " + target.to_string() + ": " + connection.error().message();
        std::cout << "PING " << connection.value()->remote_peer().to_base58() << "\n";
        auto rtts = co_await host.ping(connection.value(), args.count);
        if (!rtts) co_return "ping: " + rtts.error().message();
        for (std::size_t i = 0; i < rtts.value().size(); ++i) {
            const double ms = std::chrono::duration<double, std::milli>(rtts.value()[i]).count();
            std::cout << "pong " << (i + 1) << ": rtt=" << ms << " ms\n";
        }
        std::cout << std::flush;
        co_return std::nullopt;
    });
    return 0;
}

int run_identify(const P2pArgs& args) {
    const Multiaddr target = parse_addr(args.target);
    asio::io_context io;
    net::HostOptions options = args.host;
    options.identify_on_connect = false;
    Host host(io.get_executor(), load_key(args.key_file), options);
    run_body(io, host, [&]() -> asio::awaitable<std::optional<std::string>> {
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
        co_return std::nullopt;
    });
    return 0;
}

// A host with gossipsub on it, wired as the daemon wires them: identify hands gossipsub peers
// to the router, a closed connection removes them (a second connection to the peer carries on).
struct GossipHost {
    GossipHost(asio::io_context& io, crypto::PrivateKey key, net::HostOptions options)
        : host(io.get_executor(), key.clone(), std::move(options)),
          pubsub(std::make_shared<net::Pubsub>(io.get_executor(), host, std::move(key))) {
        host.on_identify(
            [this](const std::shared_ptr<net::Connection>& c, const net::IdentifyInfo& info) {
                pubsub->peer_identified(c, info);
            });
        host.on_connection_closed([this](const std::shared_ptr<net::Connection>& c) {
            const auto peer = c->remote_peer();
            pubsub->peer_closed(peer);
            if (auto other = host.connection_to(peer)) {
                if (const auto* info = host.identified(peer)) pubsub->peer_identified(other, *info);
            }
        });
        pubsub->start();
    }

    // Dials every --peer; returns the peers reached or an error text.
    asio::awaitable<std::optional<std::string>> dial_all(const std::vector<std::string>& peers,
                                                         std::vector<crypto::PeerId>& reached) {
        for (const std::string& text : peers) {
            const Multiaddr addr = parse_addr(text);
            auto connection = co_await host.dial(addr);
            if (!connection) co_return "dial " + text + ": " + connection.error().message();
            reached.push_back(connection.value()->remote_peer());
        }
        co_return std::nullopt;
    }

    Host host;
    std::shared_ptr<net::Pubsub> pubsub;
};

int run_sub(const P2pArgs& args) {
    asio::io_context io;
    GossipHost node(io, load_key(args.key_file), args.host);
    const auto addresses = listen_all(node.host, args.listen);
    std::size_t received = 0;
    asio::steady_timer done(io, asio::steady_timer::time_point::max());
    node.pubsub->subscribe(args.topic, [&](const net::gossipsub::Delivery& d) {
        std::cout << "from=" << d.author.to_base58() << " id=" << hex_encode(as_bytes(d.id))
                  << " data=" << escape_line(d.data) << std::endl;
        if (args.count != 0 && ++received == args.count) done.cancel();
    });
    run_body(
        io, node.host,
        [&]() -> asio::awaitable<std::optional<std::string>> {
            std::vector<crypto::PeerId> reached;
            if (auto error = co_await node.dial_all(args.peers, reached)) co_return error;
            // Our addresses say "ready": printed once every --peer is in our mesh for the topic (or
            // after --wait), since a message we receive before a peer joins our mesh is forwarded
            // to that peer neither now nor later by gossip (gossip goes to peers outside the mesh).
            auto& router = node.pubsub->router();
            const auto deadline = std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::duration<double>(args.wait_seconds));
            auto meshed = [&] {
                auto mesh = router.mesh_peers(args.topic);
                return std::all_of(reached.begin(), reached.end(), [&](const crypto::PeerId& p) {
                    return std::find(mesh.begin(), mesh.end(), p) != mesh.end();
                });
            };
            while (!meshed() && std::chrono::steady_clock::now() < deadline)
                co_await sleep_for(kPollInterval);
            print_lines(addresses);
            boost::system::error_code ec;
            co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            // We relay too: the other subscribers may still need the last messages from us (or
            // ask for them by IWANT), so keep serving for a heartbeat before closing.
            co_await drain(node.pubsub->router(), node.pubsub->router().topic_peers(args.topic),
                           std::chrono::steady_clock::now() + kDrainLimit);
            co_await sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(
                node.pubsub->router().options().heartbeat_interval));
            co_return std::nullopt;
        },
        [&] {
            done.cancel();
            node.pubsub->stop();
        });
    return 0;
}

int run_pub(const P2pArgs& args) {
    if (args.peers.empty()) fail("pub needs at least one --peer to publish to");
    asio::io_context io;
    GossipHost node(io, load_key(args.key_file), args.host);
    if (!args.listen.empty()) listen_and_print(node.host, args.listen);
    auto& router = node.pubsub->router();
    run_body(
        io, node.host,
        [&]() -> asio::awaitable<std::optional<std::string>> {
            std::vector<crypto::PeerId> reached;
            if (auto error = co_await node.dial_all(args.peers, reached)) co_return error;
            // Flood publishing reaches the peers known to be in the topic, so wait for the
            // subscriptions of every dialed peer (a peer that is not in the topic only costs the
            // wait).
            const auto deadline = std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::duration<double>(args.wait_seconds));
            auto subscribed = [&] {
                auto topic_peers = router.topic_peers(args.topic);
                return std::all_of(reached.begin(), reached.end(), [&](const crypto::PeerId& p) {
                    return std::find(topic_peers.begin(), topic_peers.end(), p) !=
                           topic_peers.end();
                });
            };
            while (!subscribed() && std::chrono::steady_clock::now() < deadline)
                co_await sleep_for(kPollInterval);
            const auto targets = router.topic_peers(args.topic);
            if (targets.empty()) co_return "no peer subscribed to " + args.topic;
            auto published = node.pubsub->publish(args.topic, as_bytes(args.data));
            if (!published) co_return "publish: " + published.error().message();
            if (!co_await drain(router, targets, std::chrono::steady_clock::now() + kDrainLimit))
                co_return "the message was not sent within " + std::to_string(kDrainLimit.count()) +
                    " ms";
            std::cout << "published to " << targets.size() << " peers" << std::endl;
            co_return std::nullopt;
        },
        [&] { node.pubsub->stop(); });
    return 0;
}

}  // namespace

void add_p2p_commands(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<P2pArgs>();
    auto* p2p = app.add_subcommand("p2p", "libp2p tools: listen, ping, identify, sub, pub");
    p2p->require_subcommand(1);
    // The node options --psk-file and --allow-peer apply to every p2p command, so these tools
    // reach the members of a private network too.
    auto on_run = [&ctx, args](CLI::App* command, CliContext::Handler handler) {
        ctx.on_run(command, [&ctx, args, handler = std::move(handler)] {
            apply_network_config(ctx.config(), args->host.connection);
            return handler();
        });
    };
    // Every p2p command runs with a fresh identity unless given one; the daemon's --key-file
    // does not apply here.
    auto add_key = [&](CLI::App* command) {
        command->add_option("--key-file,--key", args->key_file, "Identity key file")
            ->type_name("FILE")
            ->default_str("a fresh key");
    };

    auto* listen =
        p2p->add_subcommand("listen", "Listen, print our full multiaddrs, serve until SIGINT");
    listen->add_option("--listen", args->listen, "Multiaddr to listen on (repeatable)")
        ->type_name("MADDR")
        ->allow_extra_args(false)
        ->default_str(kDefaultListen);
    add_key(listen);
    on_run(listen, [args] {
        if (args->listen.empty()) args->listen = {kDefaultListen};
        return run_listen(*args);
    });

    auto* ping = p2p->add_subcommand("ping", "Ping a peer over /ipfs/ping/1.0.0 and print RTTs");
    ping->add_option("maddr", args->target, "Multiaddr of the peer, with /p2p/<id>")->required();
    ping->add_option("-n,--count", args->count, "Number of pings")
        ->default_str(std::to_string(kDefaultPingCount));
    add_key(ping);
    on_run(ping, [args] {
        if (args->count == 0) args->count = kDefaultPingCount;
        return run_ping(*args);
    });

    auto* identify =
        p2p->add_subcommand("identify", "Print a peer's agent, protocols and addresses");
    identify->add_option("maddr", args->target, "Multiaddr of the peer, with /p2p/<id>")
        ->required();
    add_key(identify);
    on_run(identify, [args] { return run_identify(*args); });

    auto* sub = p2p->add_subcommand(
        "sub",
        "Subscribe to a gossipsub topic: print our multiaddrs once in the mesh with every --peer, "
        "then one line per message "
        "(from=<author> id=<message id, hex> data=<payload, non-printable bytes as \\xNN>)");
    sub->add_option("topic", args->topic, "Topic")->required();
    sub->add_option("--listen", args->listen, "Multiaddr to listen on (repeatable)")
        ->type_name("MADDR")
        ->allow_extra_args(false)
        ->default_str(kDefaultGossipListen);
    sub->add_option("--peer", args->peers, "Peer to dial, with /p2p/<id> (repeatable)")
        ->type_name("MADDR")
        ->allow_extra_args(false);
    sub->add_option(
           "--wait", args->wait_seconds,
           "Seconds to wait for the mesh with the --peer peers before printing our addresses")
        ->capture_default_str();
    sub->add_option("--count", args->count,
                    "Exit after this many messages (relaying one heartbeat longer)")
        ->default_str("0, never");
    add_key(sub);
    on_run(sub, [args] {
        if (args->listen.empty()) args->listen = {kDefaultGossipListen};
        return run_sub(*args);
    });

    auto* pub = p2p->add_subcommand(
        "pub", "Publish one message to a gossipsub topic through the given peers, then exit");
    pub->add_option("topic", args->topic, "Topic")->required();
    pub->add_option("data", args->data, "Message payload")->required();
    pub->add_option("--peer", args->peers, "Peer to dial, with /p2p/<id> (repeatable)")
        ->type_name("MADDR")
        ->allow_extra_args(false)
        ->required();
    pub->add_option("--listen", args->listen, "Multiaddr to listen on (repeatable)")
        ->type_name("MADDR")
        ->allow_extra_args(false)
        ->default_str("none");
    pub->add_option("--wait", args->wait_seconds, "Seconds to wait for the peers' subscriptions")
        ->capture_default_str();
    add_key(pub);
    on_run(pub, [args] { return run_pub(*args); });
}

}  // namespace swarmd::node
