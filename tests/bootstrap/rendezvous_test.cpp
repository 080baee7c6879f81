// The swarm rendezvous over real loopback sockets: a small DHT of server-mode hosts stands in for
// the public one; swarm nodes that each know one DHT peer announce the swarm's key and find each
// other, and the connections the DHT opened outside the swarm are closed once idle.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "bootstrap/rendezvous.hpp"
#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/kad.hpp"
#include "net/kad_service.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::bootstrap::Rendezvous;
using swarmd::bootstrap::RendezvousOptions;
using swarmd::net::testing::run;
using swarmd::net::testing::wait_until;

namespace {

KadServiceOptions fast_kad() {
    KadServiceOptions o;
    o.request_timeout = 1s;
    o.lookup.request_timeout = 2s;
    return o;
}

RendezvousOptions fast_rendezvous() {
    RendezvousOptions o;
    o.first_delay = 10ms;
    o.search_interval = 200ms;
    o.quiet_interval = 200ms;
    o.no_dht_retry = 50ms;
    o.idle_sweep = 100ms;
    return o;
}

struct DhtNode {
    explicit DhtNode(asio::io_context& io)
        : host(io.get_executor(), crypto::PrivateKey::generate()),
          kad(std::make_shared<KadService>(io.get_executor(), host, fast_kad())) {
        kad->set_server_mode(true);
        host.on_identify([k = kad.get()](const std::shared_ptr<Connection>& c,
                                         const IdentifyInfo& info) { k->on_identify(c, info); });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    }
    ~DhtNode() {
        kad->stop();
        host.stop();
    }
    Host host;
    std::shared_ptr<KadService> kad;
    Multiaddr addr;
};

// A swarm node as the daemon wires it: a client-mode DHT and the rendezvous on the swarm's key.
struct SwarmNode {
    SwarmNode(asio::io_context& io, const Bytes& key)
        : host(io.get_executor(), crypto::PrivateKey::generate()),
          kad(std::make_shared<KadService>(io.get_executor(), host, fast_kad())) {
        host.on_identify([k = kad.get()](const std::shared_ptr<Connection>& c,
                                         const IdentifyInfo& info) { k->on_identify(c, info); });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        Rendezvous::Hooks hooks;
        hooks.is_swarm_peer = [](const crypto::PeerId&) { return false; };
        hooks.wants_peers = [] { return true; };
        hooks.found = [this](const crypto::PeerId& peer, std::vector<std::string> addrs) {
            found[peer] = std::move(addrs);
        };
        rendezvous = std::make_shared<Rendezvous>(io.get_executor(), host, *kad, key,
                                                  std::move(hooks), fast_rendezvous());
    }
    ~SwarmNode() {
        rendezvous->stop();
        kad->stop();
        host.stop();
    }
    Host host;
    std::shared_ptr<KadService> kad;
    std::shared_ptr<Rendezvous> rendezvous;
    Multiaddr addr;
    std::map<crypto::PeerId, std::vector<std::string>> found;
};

}  // namespace

TEST_CASE("rendezvous: swarm nodes that each know one DHT peer find each other", "[rendezvous]") {
    asio::io_context io;
    std::vector<std::unique_ptr<DhtNode>> dht;
    for (int i = 0; i < 8; ++i) dht.push_back(std::make_unique<DhtNode>(io));
    const Bytes key = kad::rendezvous_key("floodsub:swarmd/rendezvous-test/status/1");
    std::vector<std::unique_ptr<SwarmNode>> swarm;
    for (int i = 0; i < 3; ++i) swarm.push_back(std::make_unique<SwarmNode>(io, key));
    // A DHT of another swarm's key beside ours: its provider must not be handed over.
    SwarmNode stranger(io, kad::rendezvous_key("floodsub:swarmd/other-swarm/status/1"));

    run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::vector<Multiaddr> entry{dht[0]->addr};
            for (int round = 0; round < 2; ++round)
                for (std::size_t i = 1; i < dht.size(); ++i) co_await dht[i]->kad->bootstrap(entry);
            // Each swarm node reaches the DHT through a different bootstrap peer, as the joiner
            // hands over a bootstrap peer that does not speak the swarmd hello.
            std::vector<SwarmNode*> all;
            for (auto& s : swarm) all.push_back(s.get());
            all.push_back(&stranger);
            for (std::size_t i = 0; i < all.size(); ++i) {
                auto c = co_await all[i]->host.dial(dht[i + 1]->addr);
                REQUIRE(c);
                all[i]->rendezvous->add_dht_peer(c.value());
                all[i]->rendezvous->start();
            }
            co_await wait_until(
                [&] {
                    for (const auto& s : swarm)
                        if (s->found.size() < 2) return false;
                    return true;
                },
                20s);
            for (std::size_t i = 0; i < swarm.size(); ++i) {
                INFO("swarm node " << i);
                CHECK(swarm[i]->found.size() == 2);
                CHECK_FALSE(swarm[i]->found.contains(swarm[i]->host.peer_id()));
                CHECK_FALSE(swarm[i]->found.contains(stranger.host.peer_id()));
                for (std::size_t j = 0; j < swarm.size(); ++j) {
                    if (i == j) continue;
                    auto it = swarm[i]->found.find(swarm[j]->host.peer_id());
                    REQUIRE(it != swarm[i]->found.end());
                    // The addresses announced are the ones the node listens on.
                    CHECK(std::find(it->second.begin(), it->second.end(),
                                    swarm[j]->addr.without_peer_id().to_string()) !=
                          it->second.end());
                }
                CHECK(swarm[i]->rendezvous->stats().announced_to >= 1);
                CHECK(swarm[i]->rendezvous->stats().lookups >= 1);
            }
            CHECK(stranger.found.empty());

            // Lookups dialed DHT peers beyond the one each node was given; once idle, those
            // connections are closed, the given one is kept.
            co_await wait_until(
                [&] {
                    for (const auto& s : swarm)
                        if (s->host.connection_count() > 1) return false;
                    return true;
                },
                5s);
            for (std::size_t i = 0; i < swarm.size(); ++i) {
                INFO("swarm node " << i);
                CHECK(swarm[i]->rendezvous->stats().idle_closed >= 1);
                CHECK(swarm[i]->host.connection_to(dht[i + 1]->host.peer_id()) != nullptr);
            }
        },
        60s);
}

TEST_CASE("rendezvous: without a DHT peer it waits, announces nothing and does not spin",
          "[rendezvous]") {
    asio::io_context io;
    SwarmNode node(io, kad::rendezvous_key("floodsub:swarmd/alone/status/1"));
    run(
        io,
        [&]() -> asio::awaitable<void> {
            node.rendezvous->start();
            asio::steady_timer t(co_await asio::this_coro::executor);
            t.expires_after(500ms);
            co_await t.async_wait(asio::use_awaitable);
            CHECK(node.rendezvous->state() == "waiting for a DHT peer");
            CHECK(node.rendezvous->stats().lookups == 0);
            CHECK(node.rendezvous->stats().announced_to == 0);
            CHECK(node.found.empty());
        },
        10s);
}
