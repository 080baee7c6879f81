// DCUtR over real loopback sockets: A holds a reservation on relay R, B dials A through R, and
// A's DcutrService upgrades the relayed connection to a direct one, by hole punch (both sides
// dialing from their listen ports at once) or by a plain dial when B's address is public; the
// relayed connection then goes away. Host::punch is also run on its own from both ends, and a
// peer that sends garbage on the DCUtR stream costs nothing else. Loopback counts as public here
// (treat_as_public), as a lab's ranges do in the NAT lab.
#include <catch2/catch.hpp>

#include <boost/asio/detached.hpp>

#include "net/connection.hpp"
#include "net/dcutr.hpp"
#include "net/dcutr_service.hpp"
#include "net/host.hpp"
#include "net/relay.hpp"
#include "net/relay_service.hpp"
#include "net/stream.hpp"
#include "tests/net/host_fixture.hpp"
#include "tests/net/relay_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using swarmd::net::testing::run;
using swarmd::net::testing::wait_until;

namespace {

// (Results are bound before CHECK/REQUIRE: GCC 12 runs a co_await inside Catch's macros more
// than once.)
DcutrServiceOptions loopback_options(bool unilateral) {
    DcutrServiceOptions o;
    o.treat_as_public = {Cidr::parse("127.0.0.0/8").value()};
    o.unilateral = unilateral;
    o.exchange_timeout = 5s;
    o.punch_timeout = 3s;
    return o;
}

// A relay node whose host also runs DCUtR, offering its listen address.
struct Node : testing::RelayNode {
    explicit Node(asio::io_context& io, bool relay_server = false, bool unilateral = false)
        : RelayNode(io, relay_server) {
        DcutrServiceOptions o = loopback_options(unilateral);
        o.local_addrs = [h = &host] { return h->listen_addrs(); };
        dcutr = std::make_shared<DcutrService>(io.get_executor(), host, std::move(o));
        dcutr->start();
        host.on_identify([d = dcutr.get()](const std::shared_ptr<Connection>& c,
                                           const IdentifyInfo& info) { d->on_identify(c, info); });
    }
    ~Node() { dcutr->stop(); }

    std::shared_ptr<DcutrService> dcutr;
};

Multiaddr through(const Node& relay, const Node& target) { return relay.circuit_to(target.id()); }

bool direct_between(const Node& x, const Node& y) {
    auto a = x.host.connection_to(y.id());
    auto b = y.host.connection_to(x.id());
    return a && b && !a->relayed() && !b->relayed();
}

}  // namespace

TEST_CASE("dcutr: a relayed connection becomes direct by hole punch", "[dcutr][dcutr_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io);
    Node b(io);
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto reserved = co_await a.relay->reserve(r.addr);
            REQUIRE(reserved);
            auto relayed = co_await b.host.dial(through(r, a));
            REQUIRE(relayed);
            REQUIRE(relayed.value()->relayed());
            // A, the inbound end, sees B's identify and punches; B answers.
            // (Each side counts its success once its punch resumes, just after the connection.)
            co_await wait_until(
                [&] {
                    return direct_between(a, b) && a.dcutr->stats().direct_upgrades > 0 &&
                           b.dcutr->stats().direct_upgrades > 0;
                },
                10s);
            REQUIRE(direct_between(a, b));
            CHECK(a.dcutr->stats().direct_upgrades == 1);
            CHECK(a.dcutr->stats().attempts >= 1);
            CHECK(a.dcutr->stats().unilateral_upgrades == 0);
            CHECK(b.dcutr->stats().answered >= 1);
            CHECK(b.dcutr->stats().direct_upgrades == 1);
            // The relayed connection drains away and its circuit ends.
            co_await wait_until([&] { return r.relay->server().circuits() == 0; }, 10s);
            CHECK(r.relay->server().circuits() == 0);
            auto direct = b.host.connection_to(a.id());
            REQUIRE(direct);
            auto rtts = co_await b.host.ping(direct, 2);
            REQUIRE(rtts);
            // One connection each way, the same one on both sides: A was the upgrade's client.
            CHECK(a.host.connection_to(b.id())->initiator());
            CHECK_FALSE(direct->initiator());
        },
        30s);
}

TEST_CASE("dcutr: a peer with a public address is dialed directly, no punch",
          "[dcutr][dcutr_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io, false, true);
    Node b(io);
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto reserved = co_await a.relay->reserve(r.addr);
            REQUIRE(reserved);
            auto relayed = co_await b.host.dial(through(r, a));
            REQUIRE(relayed);
            co_await wait_until(
                [&] { return direct_between(a, b) && a.dcutr->stats().unilateral_upgrades > 0; },
                10s);
            REQUIRE(direct_between(a, b));
            CHECK(a.dcutr->stats().unilateral_upgrades == 1);
            CHECK(a.dcutr->stats().attempts == 0);
            CHECK(b.dcutr->stats().answered == 0);
        },
        30s);
}

TEST_CASE("dcutr: Host::punch from both ends makes one direct connection in agreed roles",
          "[dcutr][host]") {
    asio::io_context io;
    Node a(io);
    Node b(io);
    run(io, [&]() -> asio::awaitable<void> {
        std::optional<Result<std::shared_ptr<Connection>>> at_a;
        std::optional<Result<std::shared_ptr<Connection>>> at_b;
        const std::vector<Multiaddr> to_a{a.addr}, to_b{b.addr};
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                at_b = co_await b.host.punch(a.id(), to_a, false, 3s, 0ms);
            },
            asio::detached);
        at_a = co_await a.host.punch(b.id(), to_b, true, 3s, 1ms);
        co_await wait_until([&] { return at_b.has_value(); });
        REQUIRE(at_a.has_value());
        REQUIRE(at_b.has_value());
        REQUIRE(*at_a);
        REQUIRE(*at_b);
        CHECK(at_a->value()->remote_peer() == b.id());
        CHECK(at_b->value()->remote_peer() == a.id());
        CHECK(at_a->value()->initiator());
        CHECK_FALSE(at_b->value()->initiator());
        co_await wait_until(
            [&] { return a.host.connection_count() == 1 && b.host.connection_count() == 1; });
        CHECK(a.host.connection_count() == 1);
        CHECK(b.host.connection_count() == 1);
        auto rtts = co_await a.host.ping(at_a->value());
        CHECK(rtts);
        // A punch to nowhere times out and leaves nothing behind.
        Node c(io);
        const std::vector<Multiaddr> closed{Multiaddr::parse("/ip4/127.0.0.1/tcp/1").value()};
        const std::vector<Multiaddr> none;
        auto nowhere = co_await c.host.punch(a.id(), closed, true, 300ms, 0ms);
        CHECK_FALSE(nowhere);
        auto no_addrs = co_await c.host.punch(a.id(), none, true, 300ms, 0ms);
        CHECK_FALSE(no_addrs);
    });
}

TEST_CASE("dcutr: garbage on the DCUtR stream ends that stream only", "[dcutr][dcutr_service]") {
    asio::io_context io;
    Node r(io, true);
    Node a(io);
    // B speaks no DCUtR of its own (A would punch): it sends garbage on A's protocol.
    Node b(io);
    b.dcutr->stop();
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto reserved = co_await a.relay->reserve(r.addr);
            REQUIRE(reserved);
            auto relayed = co_await b.host.dial(through(r, a));
            REQUIRE(relayed);
            std::vector<Bytes> junks;
            junks.push_back(Bytes{0x03, 0xff, 0xff, 0xff});
            junks.push_back(Bytes{0x02, 0x08, 0x07});
            junks.push_back(Bytes{0x7f});
            for (const Bytes& junk : junks) {
                auto stream = co_await relayed.value()->open_stream(std::string(dcutr::kProtocol));
                REQUIRE(stream);
                auto written = co_await stream.value()->write(junk);
                CHECK(written);
                stream.value()->close_write();
                auto rest = co_await stream.value()->read_to_end(4096);
                // A answers nothing to garbage: the stream ends (closed or reset).
                CHECK((!rest || rest.value().empty()));
            }
            auto rtts = co_await b.host.ping(relayed.value(), 1);
            CHECK(rtts);
            CHECK(a.dcutr->stats().direct_upgrades == 0);
        },
        30s);
}
