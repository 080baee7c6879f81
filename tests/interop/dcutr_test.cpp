// DCUtR against js-libp2p's @libp2p/dcutr (peer.mjs relay --dcutr), through a swarmd relay, in
// both roles: js dials swarmd through the relay and swarmd (the inbound end) runs the hole punch;
// swarmd dials js through the relay and js runs it. Either way the two end up on a direct
// connection, the relayed one goes away, and ping works on what is left. js DCUtR skips private
// addresses, 127.0.0.1 included, so both sides offer /dns4/localhost instead (a name passes).
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "net/connection.hpp"
#include "net/dcutr.hpp"
#include "net/dcutr_service.hpp"
#include "net/host.hpp"
#include "net/relay.hpp"
#include "net/relay_service.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"
#include "tests/net/relay_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A relay node whose host, with_dcutr, also runs DCUtR.
struct Node : testing::RelayNode {
    Node(asio::io_context& io, bool relay_server, bool with_dcutr) : RelayNode(io, relay_server) {
        if (!with_dcutr) return;
        DcutrServiceOptions o;
        // js names itself /dns4/localhost; we offer the same form of our listen address. Its
        // identify addresses are that name too: no plain dial first, so the punch itself runs.
        o.unilateral = false;
        const auto port = addr.tcp_endpoint()->port;
        o.local_addrs = [port] {
            return std::vector<Multiaddr>{
                Multiaddr::parse("/dns4/localhost/tcp/" + std::to_string(port)).value()};
        };
        dcutr = std::make_shared<DcutrService>(io.get_executor(), host, std::move(o));
        dcutr->start();
        host.on_identify([d = dcutr.get()](const std::shared_ptr<Connection>& c,
                                           const IdentifyInfo& info) { d->on_identify(c, info); });
    }
    ~Node() {
        if (dcutr) dcutr->stop();
    }

    std::shared_ptr<DcutrService> dcutr;
};

bool direct_to(const Node& node, const crypto::PeerId& peer) {
    auto c = node.host.connection_to(peer);
    return c && !c->relayed();
}

// Whether js lists an open, unlimited (direct) connection to `peer`.
asio::awaitable<bool> js_direct_to(JsPeer& js, const crypto::PeerId& peer) {
    const std::string connections_event = "connections";
    js.send({{"cmd", "connections"}});
    const auto listed = co_await js.expect(connections_event);
    for (const auto& c : listed["connections"]) {
        if (c["peerId"] == peer.to_base58() && c["limited"] == false && c["status"] == "open")
            co_return true;
    }
    co_return false;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

TEST_CASE("interop: js dials swarmd through a relay and swarmd hole-punches to js",
          "[interop][dcutr]") {
    asio::io_context io;
    Node r(io, true, false);
    Node a(io, false, true);
    JsPeer js(io, {"relay", "--dcutr"});
    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string listening = "listening", pinged = "pinged";
            const auto js_listening = co_await js.expect(listening);
            const auto js_id = crypto::PeerId::parse(js_listening["peerId"].get<std::string>());
            REQUIRE(js_id);
            auto reserved = co_await a.relay->reserve(r.addr);
            REQUIRE(reserved);
            const std::string circuit =
                r.addr.to_string() + "/p2p-circuit/p2p/" + a.host.peer_id().to_base58();
            js.send({{"cmd", "ping"}, {"addr", circuit}});
            const auto ping = co_await js.expect(pinged);
            CHECK(ping["limited"] == true);

            // (The punch counts its success once it resumes, just after the connection is kept.)
            co_await testing::wait_until(
                [&] { return direct_to(a, js_id.value()) && a.dcutr->stats().direct_upgrades > 0; },
                20s);
            REQUIRE(direct_to(a, js_id.value()));
            CHECK(a.dcutr->stats().direct_upgrades == 1);
            CHECK(a.dcutr->stats().attempts >= 1);
            bool js_direct = false;
            for (int i = 0; i < 100 && !js_direct; ++i) {
                js_direct = co_await js_direct_to(js, a.host.peer_id());
                if (!js_direct) co_await sleep_for(100ms);
            }
            CHECK(js_direct);
            auto rtts = co_await a.host.ping(a.host.connection_to(js_id.value()), 2);
            CHECK(rtts);
        },
        60s);
}

TEST_CASE("interop: swarmd dials js through a relay and answers js's hole punch",
          "[interop][dcutr]") {
    asio::io_context io;
    Node r(io, true, false);
    Node b(io, false, true);
    JsPeer js(io, {"relay", "--dcutr"});
    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string listening = "listening", reserved_event = "reserved";
            const auto js_listening = co_await js.expect(listening);
            const auto js_id = crypto::PeerId::parse(js_listening["peerId"].get<std::string>());
            REQUIRE(js_id);
            js.send({{"cmd", "reserve"}, {"addr", r.addr.to_string()}});
            const auto reservation = co_await js.expect(reserved_event);
            REQUIRE(reservation["addrs"].size() >= 1);
            const auto circuit = Multiaddr::parse(r.addr.to_string() + "/p2p-circuit/p2p/" +
                                                  js_id.value().to_base58());
            REQUIRE(circuit);
            auto relayed = co_await b.host.dial(circuit.value());
            REQUIRE(relayed);
            CHECK(relayed.value()->relayed());

            co_await testing::wait_until(
                [&] { return direct_to(b, js_id.value()) && b.dcutr->stats().direct_upgrades > 0; },
                20s);
            REQUIRE(direct_to(b, js_id.value()));
            CHECK(b.dcutr->stats().answered >= 1);
            CHECK(b.dcutr->stats().direct_upgrades == 1);
            bool js_direct = false;
            for (int i = 0; i < 100 && !js_direct; ++i) {
                js_direct = co_await js_direct_to(js, b.host.peer_id());
                if (!js_direct) co_await sleep_for(100ms);
            }
            CHECK(js_direct);
            auto rtts = co_await b.host.ping(b.host.connection_to(js_id.value()), 2);
            CHECK(rtts);
        },
        60s);
}
