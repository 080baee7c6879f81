// AutoNAT over real loopback sockets. The node under test listens on 127.0.0.1 (the source
// address the kernel gives every loopback connection, so servers observe it there); servers
// listen on 127.0.0.2..5, so each counts as its own IP group; treat_as_public 127.0.0.0/8 lets
// the servers' policy accept a loopback requester.
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/ip/tcp.hpp>

#include "net/autonat_service.hpp"
#include "net/connection.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;
using swarmd::net::testing::wait_until;

namespace {

AutoNatServiceOptions lab_options() {
    AutoNatServiceOptions o;
    o.treat_as_public = {Cidr::parse("127.0.0.0/8").value()};
    o.probe_timeout = 2s;
    o.client.request_timeout = 5s;
    return o;
}

struct Node {
    Node(asio::io_context& io, const std::string& ip, bool server,
         AutoNatServiceOptions options = lab_options())
        : host(io.get_executor(), crypto::PrivateKey::generate()),
          autonat(std::make_shared<AutoNatService>(io.get_executor(), host, std::move(options))) {
        autonat->set_server_mode(server);
        host.on_identify(
            [a = autonat.get()](const std::shared_ptr<Connection>& c, const IdentifyInfo& info) {
                a->on_identify(c, info);
            });
        addr = host.listen(Multiaddr::parse("/ip4/" + ip + "/tcp/0").value()).value();
    }
    ~Node() {
        autonat->stop();
        host.stop();
    }

    Host host;
    std::shared_ptr<AutoNatService> autonat;
    Multiaddr addr;
};

std::vector<std::unique_ptr<Node>> servers(asio::io_context& io, int n) {
    std::vector<std::unique_ptr<Node>> out;
    for (int i = 0; i < n; ++i)
        out.push_back(std::make_unique<Node>(io, "127.0.0." + std::to_string(i + 2), true));
    return out;
}

// A port on 127.0.0.1 nothing listens on (bound once, then closed), other than `taken`.
std::uint16_t dead_port(asio::io_context& io, std::uint16_t taken) {
    for (;;) {
        asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
        const auto port = probe.local_endpoint().port();
        if (port != taken) return port;
    }
}

}  // namespace

TEST_CASE("autonat service: a node the servers can dial back becomes public",
          "[autonat][autonat_service]") {
    asio::io_context io;
    auto four = servers(io, 4);
    Node node(io, "127.0.0.1", false);
    std::vector<autonat::Reachability> changes;
    node.autonat->on_reachability_changed([&](autonat::Reachability r) { changes.push_back(r); });
    node.autonat->start();

    run(
        io,
        [&]() -> asio::awaitable<void> {
            for (const auto& s : four) REQUIRE(co_await node.host.dial(s->addr));
            co_await wait_until(
                [&] { return node.autonat->reachability() == autonat::Reachability::public_; },
                10s);
            CHECK(node.autonat->reachability() == autonat::Reachability::public_);
            CHECK(changes == std::vector{autonat::Reachability::public_});
            // What was tested is the listen address, the one the servers observe our IP at.
            const auto asked = node.autonat->candidate_addrs();
            CHECK(std::find(asked.begin(), asked.end(), node.addr.without_peer_id()) !=
                  asked.end());
            // The dial-backs were one-off connections: each server still has the node's own
            // connection, the node still has its connections to every server, and no server
            // holds a second connection.
            for (const auto& s : four) {
                auto kept = s->host.connection_to(node.host.peer_id());
                REQUIRE(kept);
                CHECK_FALSE(kept->outbound());
                CHECK(s->host.connection_count() == 1);
                CHECK(node.host.connection_to(s->host.peer_id()));
            }
            // Servers never test each other or the node: nobody asked them to.
            for (const auto& s : four)
                CHECK(s->autonat->reachability() == autonat::Reachability::unknown);
        },
        30s);
}

TEST_CASE("autonat service: a node whose address nobody can reach becomes private",
          "[autonat][autonat_service]") {
    asio::io_context io;
    auto four = servers(io, 4);
    auto options = lab_options();
    // Set once the node listens, so the dead port cannot be the node's own.
    auto unreachable = std::make_shared<std::vector<Multiaddr>>();
    options.candidate_addrs = [unreachable] { return *unreachable; };
    Node node(io, "127.0.0.1", false, options);
    const auto port = dead_port(io, node.addr.tcp_endpoint()->port);
    unreachable->push_back(Multiaddr::from_ip_tcp("127.0.0.1", port).value());
    node.autonat->start();

    run(
        io,
        [&]() -> asio::awaitable<void> {
            for (const auto& s : four) REQUIRE(co_await node.host.dial(s->addr));
            co_await wait_until(
                [&] { return node.autonat->reachability() != autonat::Reachability::unknown; },
                10s);
            CHECK(node.autonat->reachability() == autonat::Reachability::private_);
            // Once private, public addresses are not advertised (127/8 counts as public here).
            CHECK(node.autonat->advertised_addrs(Multiaddr::parse("/ip4/127.0.0.9/tcp/1").value())
                      .empty());
        },
        30s);
}

TEST_CASE("probe_dial proves the peer id and leaves no connection behind",
          "[autonat][autonat_service]") {
    asio::io_context io;
    Host prober(io.get_executor(), crypto::PrivateKey::generate());
    Host target(io.get_executor(), crypto::PrivateKey::generate());
    const Multiaddr addr =
        target.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value().without_peer_id();
    std::vector<crypto::PeerId> seen_by_target;
    target.on_identify([&](const std::shared_ptr<Connection>& c, const IdentifyInfo&) {
        seen_by_target.push_back(c->remote_peer());
    });

    run(io, [&]() -> asio::awaitable<void> {
        const Multiaddr right = addr.with_peer_id(target.peer_id());
        auto ok = co_await prober.probe_dial(right, 2s);
        CHECK(ok);
        CHECK(prober.connection_count() == 0);
        CHECK_FALSE(prober.connection_to(target.peer_id()));
        // The target saw a connection from another peer id than the prober's, and it closes.
        co_await wait_until([&] { return target.connection_count() == 0; });
        CHECK(target.connection_count() == 0);
        for (const auto& id : seen_by_target) CHECK(id != prober.peer_id());

        const crypto::PeerId someone_else =
            crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
        const Multiaddr impostor = addr.with_peer_id(someone_else);
        auto wrong = co_await prober.probe_dial(impostor, 2s);
        REQUIRE_FALSE(wrong);
        CHECK(wrong.error() == Errc::peer_id_mismatch);
        auto anonymous = co_await prober.probe_dial(addr, 2s);
        REQUIRE_FALSE(anonymous);
        CHECK(anonymous.error() == HostErrc::missing_peer_id);
        // No backoff: the same address probes again at once.
        auto again = co_await prober.probe_dial(right, 2s);
        CHECK(again);
        CHECK(prober.connection_count() == 0);
    });
}

namespace {

asio::awaitable<autonat::DialResponse> ask(Host& from, const crypto::PeerId& server,
                                           const autonat::Message& message) {
    const Bytes body = autonat::encode_message(message).value();
    const std::string protocol(autonat::kProtocol);
    auto stream = co_await send_request(from, server, protocol, body, 5s);
    REQUIRE(stream);
    auto reply = co_await stream.value()->read_length_prefixed(8192);
    REQUIRE(reply);
    auto decoded = autonat::decode_message(reply.value());
    REQUIRE(decoded);
    REQUIRE(decoded.value().dial_response);
    co_return *decoded.value().dial_response;
}

}  // namespace

TEST_CASE("autonat service: the server refuses third parties, liars and floods",
          "[autonat][autonat_service]") {
    asio::io_context io;
    Node server(io, "127.0.0.2", true);
    Node strict(io, "127.0.0.3", true, AutoNatServiceOptions{});  // loopback is not public
    Node client(io, "127.0.0.1", false);
    const Multiaddr mine = client.addr.without_peer_id();
    using autonat::ResponseStatus;

    run(
        io,
        [&]() -> asio::awaitable<void> {
            REQUIRE(co_await client.host.dial(server.addr));
            REQUIRE(co_await client.host.dial(strict.addr));
            const auto& id = server.host.peer_id();
            const auto& self = client.host.peer_id();

            const std::vector<Multiaddr> just_mine{mine};
            const auto good = autonat::make_dial(self, just_mine);
            // Another peer's id in the request.
            const auto liar = autonat::make_dial(server.host.peer_id(), just_mine);
            auto r = co_await ask(client.host, id, liar);
            CHECK(r.status == ResponseStatus::bad_request);
            // An address at an IP we are not seen at: never dialed.
            const std::vector<Multiaddr> elsewhere{
                Multiaddr::parse("/ip4/127.0.0.9/tcp/4001").value()};
            const auto third_party = autonat::make_dial(self, elsewhere);
            r = co_await ask(client.host, id, third_party);
            CHECK(r.status == ResponseStatus::dial_refused);
            // A private (here loopback) requester, by the default policy.
            const crypto::PeerId strict_id = strict.host.peer_id();
            r = co_await ask(client.host, strict_id, good);
            CHECK(r.status == ResponseStatus::dial_refused);
            // Two real checks a minute, then refusals.
            r = co_await ask(client.host, id, good);
            CHECK(r.status == ResponseStatus::ok);
            CHECK(r.addr == mine);
            r = co_await ask(client.host, id, good);
            CHECK(r.status == ResponseStatus::ok);
            r = co_await ask(client.host, id, good);
            CHECK(r.status == ResponseStatus::dial_refused);
            // Garbage gets a bad_request answer, not a crash.
            Bytes junk(2);
            junk[0] = 0x08;
            junk[1] = 0x07;
            const std::string protocol(autonat::kProtocol);
            auto stream = co_await send_request(client.host, id, protocol, junk, 5s);
            REQUIRE(stream);
            auto reply = co_await stream.value()->read_length_prefixed(8192);
            REQUIRE(reply);
            CHECK(autonat::decode_message(reply.value()).value().dial_response->status ==
                  ResponseStatus::bad_request);
            CHECK(client.host.connection_to(id));
        },
        30s);
}
