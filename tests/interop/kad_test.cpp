// Kademlia against js-libp2p's @libp2p/kad-dht (peer.mjs kad: a server on /ipfs/kad/1.0.0 that
// keeps loopback addresses) as the only other DHT node: provider records travel both ways, and a
// client-mode swarmd finds them through js alone.
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/encoding.hpp"
#include "net/host.hpp"
#include "net/kad_service.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct KadNode {
    KadNode(asio::io_context& io, bool server)
        : host(io.get_executor(), crypto::PrivateKey::generate()),
          kad(std::make_shared<KadService>(io.get_executor(), host)) {
        kad->set_server_mode(server);
        host.on_identify([k = kad.get()](const std::shared_ptr<Connection>& c,
                                         const IdentifyInfo& info) { k->on_identify(c, info); });
        addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    }
    ~KadNode() {
        kad->stop();
        host.stop();
    }

    Host host;
    std::shared_ptr<KadService> kad;
    Multiaddr addr;
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

TEST_CASE("swarmd and js-libp2p kad-dht find each other's provider records", "[interop][kad]") {
    asio::io_context io;
    JsPeer js(io, {"kad"});
    KadNode server(io, true);
    KadNode client(io, false);
    const Bytes ours = kad::rendezvous_key("floodsub:swarmd/interop/kad/ours");
    const Bytes theirs = kad::rendezvous_key("floodsub:swarmd/interop/kad/theirs");

    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            // Named, not temporaries in the co_await expressions: GCC 12 mishandles those.
            const std::string listening_event = "listening", rt_event = "rt",
                              providers_event = "providers", provided_event = "provided";
            const auto poll = 50ms;
            const auto listening = co_await js.expect(listening_event);
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            const std::string js_id = listening["peerId"];
            const std::vector<Multiaddr> entry{js_addr.value()};

            // swarmd's lookup of itself goes through js, which answers FIND_NODE.
            CHECK(co_await server.kad->bootstrap(entry) == 1);
            REQUIRE(server.kad->routing_table().contains(js_addr.value().peer_id().value()));
            // js adds swarmd once identify shows it serves kad.
            int js_rt_size = 0;
            for (int i = 0; i < 100 && js_rt_size < 1; ++i) {
                js.send({{"cmd", "rt"}});
                const auto rt = co_await js.expect(rt_event);
                js_rt_size = rt["size"].get<int>();
                if (js_rt_size < 1) co_await sleep_for(poll);
            }
            REQUIRE(js_rt_size >= 1);

            // swarmd provides; js (the closest, and only, peer) stores it and finds swarmd.
            auto provided = co_await server.kad->provide(ours);
            REQUIRE(provided);
            CHECK(provided.value() == 1);
            js.send({{"cmd", "findProviders"}, {"key", hex_encode(ours)}, {"timeoutMs", 5000}});
            const auto found = co_await js.expect(providers_event);
            REQUIRE(found["providers"].size() == 1);
            CHECK(found["providers"][0]["id"] == server.host.peer_id().to_base58());
            const auto addrs = found["providers"][0]["addrs"];
            CHECK(std::find(addrs.begin(), addrs.end(),
                            server.addr.without_peer_id().to_string()) != addrs.end());

            // js provides; swarmd's server receives its ADD_PROVIDER and stores it.
            js.send({{"cmd", "provide"}, {"key", hex_encode(theirs)}});
            co_await js.expect(provided_event);
            // ADD_PROVIDER has no reply: js's provide can resolve before swarmd has read the
            // message, so wait (bounded) for the record to land.
            auto stored =
                server.kad->provider_store().get(theirs, std::chrono::steady_clock::now(), 10);
            for (int i = 0; i < 100 && stored.empty(); ++i) {
                co_await sleep_for(poll);
                stored =
                    server.kad->provider_store().get(theirs, std::chrono::steady_clock::now(), 10);
            }
            REQUIRE(stored.size() == 1);
            CHECK(stored[0].id.to_base58() == js_id);

            // A client-mode swarmd that knows only js finds both records with GET_PROVIDERS.
            CHECK(co_await client.kad->bootstrap(entry) >= 1);
            auto js_providers = co_await client.kad->find_providers(theirs, 1);
            REQUIRE(js_providers.size() == 1);
            CHECK(js_providers[0].id.to_base58() == js_id);
            auto our_providers = co_await client.kad->find_providers(ours, 1);
            REQUIRE(our_providers.size() == 1);
            CHECK(our_providers[0].id == server.host.peer_id());
        },
        60s);
}
