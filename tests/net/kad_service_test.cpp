// The Kademlia service over real loopback sockets: a small DHT of server-mode hosts bootstrapped
// from one, a provider found by a client-mode host, and hostile responders that must not stall
// or crash a lookup.
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/varint.hpp"
#include "net/host.hpp"
#include "net/kad_service.hpp"
#include "net/stream.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;

namespace {

struct Node {
    Node(asio::io_context& io, bool server, KadServiceOptions options = {})
        : host(io.get_executor(), crypto::PrivateKey::generate()),
          kad(std::make_shared<KadService>(io.get_executor(), host, std::move(options))) {
        kad->set_server_mode(server);
        host.on_identify([k = kad.get()](const std::shared_ptr<Connection>& c,
                                         const IdentifyInfo& info) { k->on_identify(c, info); });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    }
    ~Node() {
        kad->stop();
        host.stop();
    }

    Host host;
    std::shared_ptr<KadService> kad;
    Multiaddr addr;
};

KadServiceOptions fast_options() {
    KadServiceOptions o;
    o.request_timeout = 1s;
    o.lookup.request_timeout = 2s;
    return o;
}

}  // namespace

TEST_CASE("kad service: ten servers, a provider and a client that finds it", "[kad][kad_service]") {
    asio::io_context io;
    std::vector<std::unique_ptr<Node>> servers;
    for (int i = 0; i < 10; ++i)
        servers.push_back(std::make_unique<Node>(io, true, fast_options()));
    Node client(io, false, fast_options());
    const Bytes key = kad::rendezvous_key("floodsub:swarmd-kad-test");

    run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::vector<Multiaddr> entry{servers[0]->addr};
            for (std::size_t i = 1; i < servers.size(); ++i) {
                const std::size_t size = co_await servers[i]->kad->bootstrap(entry);
                CHECK(size >= 1);
            }
            // A second round now that everyone is known to the entry node.
            for (std::size_t i = 1; i < servers.size(); ++i)
                co_await servers[i]->kad->bootstrap(entry);
            for (const auto& s : servers) CHECK(s->kad->routing_table_size() >= 5);

            auto provided = co_await servers[3]->kad->provide(key);
            REQUIRE(provided);
            CHECK(provided.value() >= 5);

            CHECK(co_await client.kad->bootstrap(entry) >= 5);
            auto providers = co_await client.kad->find_providers(key, 5);
            REQUIRE(providers.size() == 1);
            CHECK(providers[0].id == servers[3]->host.peer_id());
            REQUIRE_FALSE(providers[0].addrs.empty());
            CHECK(providers[0].addrs[0] == servers[3]->addr.without_peer_id());

            // find_node reaches a server the client never dialed itself.
            const Bytes target = servers[7]->host.peer_id().bytes();
            auto closest = co_await client.kad->find_node(target);
            REQUIRE_FALSE(closest.empty());
            CHECK(closest[0].id == servers[7]->host.peer_id());

            // Client mode: identify never listed kad, so no server added the client.
            for (const auto& s : servers)
                CHECK_FALSE(s->kad->routing_table().contains(client.host.peer_id()));
            const auto client_protocols = client.host.protocols();
            CHECK(std::count(client_protocols.begin(), client_protocols.end(),
                             std::string(kad::kProtocol)) == 0);
            const auto server_protocols = servers[0]->host.protocols();
            CHECK(std::count(server_protocols.begin(), server_protocols.end(),
                             std::string(kad::kProtocol)) == 1);
        },
        60s);
}

namespace {

enum class Hostility { garbage, oversize, endless_peers, stall, wrong_type };

// A host that serves /ipfs/kad/1.0.0 badly.
struct Hostile {
    Hostile(asio::io_context& io, Hostility how)
        : host(io.get_executor(), crypto::PrivateKey::generate()) {
        host.set_handler(std::string(kad::kProtocol),
                         [this, how](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
                             ++requests;
                             auto request = co_await s->read_length_prefixed(64 * 1024);
                             if (!request) co_return;
                             auto decoded = kad::decode_message(request.value());
                             if (!decoded) co_return;
                             co_await answer(*s, how, decoded.value());
                         });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    }
    ~Hostile() { host.stop(); }

    asio::awaitable<void> answer(Stream& s, Hostility how, kad::Message request) {
        switch (how) {
            case Hostility::garbage: {
                const Bytes junk{0x0b, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
                co_await s.write(junk);
                break;
            }
            case Hostility::oversize: {
                Bytes prefix;
                varint_append(prefix, 64 * 1024 * 1024);
                co_await s.write(prefix);
                const Bytes chunk(64 * 1024, 0x08);
                for (int i = 0; i < 64; ++i) {
                    if (!co_await s.write(chunk)) break;
                }
                break;
            }
            case Hostility::endless_peers: {
                // Every answer names 100 fresh peers that nobody can reach.
                kad::Message m;
                m.type = request.type;
                m.key = request.key;
                for (int i = 0; i < 100; ++i) {
                    m.closer_peers.push_back(
                        kad::PeerInfo{crypto::PeerId::from_public_key(
                                          crypto::PrivateKey::generate().public_key()),
                                      {Multiaddr::parse("/ip4/127.0.0.1/tcp/1").value()},
                                      {}});
                }
                const Bytes body = kad::encode_message(m).value();
                co_await s.write_length_prefixed(body);
                break;
            }
            case Hostility::stall: {
                asio::steady_timer t(co_await asio::this_coro::executor);
                t.expires_after(30s);
                boost::system::error_code ec;
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                break;
            }
            case Hostility::wrong_type: {
                kad::Message m;
                m.type = kad::MessageType::ping;
                const Bytes body = kad::encode_message(m).value();
                co_await s.write_length_prefixed(body);
                break;
            }
        }
        s.close_write();
    }

    Host host;
    Multiaddr addr;
    int requests = 0;
};

}  // namespace

TEST_CASE("kad service: hostile responders cannot stall or crash a lookup", "[kad][kad_service]") {
    asio::io_context io;
    std::vector<std::unique_ptr<Node>> honest;
    for (int i = 0; i < 3; ++i) honest.push_back(std::make_unique<Node>(io, true, fast_options()));
    std::vector<std::unique_ptr<Hostile>> hostile;
    for (Hostility how : {Hostility::garbage, Hostility::oversize, Hostility::endless_peers,
                          Hostility::stall, Hostility::wrong_type})
        hostile.push_back(std::make_unique<Hostile>(io, how));
    Node client(io, false, fast_options());

    run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::vector<Multiaddr> entry{honest[0]->addr};
            for (std::size_t i = 1; i < honest.size(); ++i)
                co_await honest[i]->kad->bootstrap(entry);

            std::vector<Multiaddr> all{honest[0]->addr};
            for (const auto& h : hostile) all.push_back(h->addr);
            const auto started = std::chrono::steady_clock::now();
            co_await client.kad->bootstrap(all);
            const Bytes target = honest[2]->host.peer_id().bytes();
            auto closest = co_await client.kad->find_node(target);
            const auto took = std::chrono::steady_clock::now() - started;
            CHECK(took < 15s);
            for (const auto& h : hostile) CHECK(h->requests >= 1);  // every one was asked
            REQUIRE_FALSE(closest.empty());
            CHECK(closest[0].id == honest[2]->host.peer_id());
            // None of the misbehaving peers stays in the table; the one that answered well-formed
            // lists of unreachable peers does, but none of the peers it named.
            for (const auto& h : hostile) {
                const bool answers = h.get() == hostile[2].get();
                CHECK(client.kad->routing_table().contains(h->host.peer_id()) == answers);
            }
            CHECK(client.kad->routing_table_size() == honest.size() + 1);
            for (const auto& h : honest)
                CHECK(client.kad->routing_table().contains(h->host.peer_id()));
        },
        60s);
}

TEST_CASE("kad service: re-providing keeps a record alive past the servers' expiry",
          "[kad][kad_service]") {
    asio::io_context io;
    KadServiceOptions short_lived = fast_options();
    short_lived.providers.record_ttl = 1500ms;
    short_lived.providers.addr_ttl = 1500ms;
    std::vector<std::unique_ptr<Node>> servers;
    for (int i = 0; i < 4; ++i) servers.push_back(std::make_unique<Node>(io, true, short_lived));
    // The providers are clients, so no record of theirs sits in their own store.
    KadServiceOptions renewing = fast_options();
    renewing.reprovide_interval = 300ms;
    Node kept(io, false, renewing);
    Node once(io, false, fast_options());
    Node client(io, false, fast_options());
    const Bytes kept_key = kad::rendezvous_key("floodsub:kept");
    const Bytes once_key = kad::rendezvous_key("floodsub:once");

    run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::vector<Multiaddr> entry{servers[0]->addr};
            for (auto& s : servers) co_await s->kad->bootstrap(entry);
            for (Node* n : {&kept, &once, &client}) CHECK(co_await n->kad->bootstrap(entry) >= 3);
            REQUIRE(co_await kept.kad->provide(kept_key));
            REQUIRE(co_await once.kad->provide(once_key));
            kept.kad->start();
            CHECK((co_await client.kad->find_providers(kept_key, 1)).size() == 1);
            CHECK((co_await client.kad->find_providers(once_key, 1)).size() == 1);

            asio::steady_timer wait(co_await asio::this_coro::executor);
            wait.expires_after(2500ms);
            co_await wait.async_wait(asio::use_awaitable);
            const auto renewed = co_await client.kad->find_providers(kept_key, 1);
            REQUIRE(renewed.size() == 1);
            CHECK(renewed[0].id == kept.host.peer_id());
            CHECK_FALSE(renewed[0].addrs.empty());
            CHECK((co_await client.kad->find_providers(once_key, 1)).empty());
        },
        60s);
}
