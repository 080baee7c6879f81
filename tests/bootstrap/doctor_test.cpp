// Each join diagnostic, produced by setting up that exact failure with real hosts on loopback.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "bootstrap/diagnose.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/doctor.hpp"
#include "bootstrap/error.hpp"
#include "bootstrap/hello.hpp"
#include "net/host.hpp"
#include "tests/bootstrap/dnsmasq.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

crypto::Digest swarm_id(std::uint8_t fill) {
    crypto::Digest d;
    d.fill(fill);
    return d;
}

net::HostOptions fast_options() {
    net::HostOptions o;
    o.dial_timeout = std::chrono::milliseconds(1500);
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(1);
    return o;
}

struct Node {
    Node(asio::io_context& io, Hello hello, RejectPeer rejects = {})
        : host(io.get_executor(), crypto::PrivateKey::generate(), fast_options()) {
        addr = host.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        serve_hello(host, hello, std::move(rejects));
    }
    ~Node() { host.stop(); }
    net::Host host;
    net::Multiaddr addr;
};

std::vector<DoctorResult> doctor(asio::io_context& io, net::Host& host, DnsaddrResolver& resolver,
                                 std::vector<std::string> targets, Hello hello) {
    std::vector<DoctorResult> out;
    net::testing::run(io, [&]() -> asio::awaitable<void> {
        out = co_await run_doctor(host, resolver, targets, hello);
    });
    return out;
}

}  // namespace

TEST_CASE("doctor tells every join failure apart", "[doctor]") {
    asio::io_context io;
    const Hello ours{swarm_id(1), Role::trainer, HelloStatus::ok};
    Node good(io, ours);
    Node foreign(io, Hello{swarm_id(2), Role::bootstrap, HelloStatus::ok});
    Node strict(io, ours, [](const crypto::PeerId&) { return true; });
    Node other(io, ours);
    net::Host me(io.get_executor(), crypto::PrivateKey::generate(), fast_options());

    // A port with nothing listening.
    unsigned short closed_port = 0;
    {
        tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed_port = a.local_endpoint().port();
    }
    // A TCP service that is not libp2p: answers anything with an HTTP error and closes.
    tcp::acceptor http(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    http.async_accept([](boost::system::error_code ec, tcp::socket s) {
        if (ec) return;
        auto sock = std::make_shared<tcp::socket>(std::move(s));
        static const std::string reply = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
        asio::async_write(*sock, asio::buffer(reply), [sock](auto, auto) { sock->close(); });
    });
    // A listener whose accept queue is full drops new SYNs, so a dial times out.
    tcp::acceptor full(io);
    full.open(tcp::v4());
    full.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    full.listen(0);
    std::vector<std::unique_ptr<tcp::socket>> fillers;
    for (int i = 0; i < 3; ++i) {
        auto s = std::make_unique<tcp::socket>(io);
        s->async_connect(full.local_endpoint(), [](auto) {});
        fillers.push_back(std::move(s));
    }
    io.run_for(std::chrono::milliseconds(50));
    io.restart();

    testing::Dnsmasq dns({{"_dnsaddr.ok.test", "dnsaddr=" + good.addr.to_string()}});
    DnsaddrOptions dns_options;
    dns_options.servers = {dns.endpoint()};
    dns_options.timeout = std::chrono::milliseconds(300);
    DnsaddrResolver resolver(io, dns_options);
    REQUIRE(dns.wait_until_serving());

    const auto peer_suffix = "/p2p/" + other.host.peer_id().to_base58();
    auto at = [](unsigned short port) { return "/ip4/127.0.0.1/tcp/" + std::to_string(port); };
    const std::vector<std::pair<std::string, JoinFailure>> cases = {
        {good.addr.to_string(), JoinFailure::none},
        {"/dnsaddr/ok.test", JoinFailure::none},
        // The same peers at a dead address: each entry is checked on its own connection, so the
        // working entries before it must not make it pass.
        {at(closed_port) + "/p2p/" + good.host.peer_id().to_base58(),
         JoinFailure::connection_refused},
        {"/ip4/127.0.0.1/tcp/4001", JoinFailure::bad_address},
        {"/dnsaddr/missing.test", JoinFailure::dns_failure},
        {at(closed_port) + peer_suffix, JoinFailure::connection_refused},
        {at(full.local_endpoint().port()) + peer_suffix, JoinFailure::timeout},
        {at(http.local_endpoint().port()) + peer_suffix, JoinFailure::handshake_failure},
        {good.addr.without_peer_id().to_string() + peer_suffix, JoinFailure::peer_id_mismatch},
        {foreign.addr.to_string(), JoinFailure::different_swarm},
        {at(closed_port) + "/p2p/" + foreign.host.peer_id().to_base58(),
         JoinFailure::connection_refused},
        {strict.addr.to_string(), JoinFailure::rejected_low_score},
    };
    std::vector<std::string> targets;
    for (const auto& [t, _] : cases) targets.push_back(t);
    auto results = doctor(io, me, resolver, targets, ours);

    REQUIRE(results.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto line = format_doctor_line(results[i]);
        INFO(line);
        CHECK(classify(results[i].error) == cases[i].second);
        CHECK(line.find('\n') == std::string::npos);
        if (cases[i].second == JoinFailure::none) {
            CHECK(line.starts_with("ok   "));
            CHECK(line.find("swarmd/") != std::string::npos);
            CHECK(results[i].rtt_ms.has_value());
        } else {
            CHECK(line.starts_with("FAIL bootstrap "));
            CHECK(line.find(std::string(failure_advice(cases[i].second))) != std::string::npos);
        }
    }
    me.stop();
}

TEST_CASE("hello messages are strict about their form", "[hello]") {
    Hello h{swarm_id(7), Role::bootstrap, HelloStatus::rejected_low_score};
    auto bytes = encode_hello(h);
    REQUIRE(bytes.size() == kHelloSize);
    auto back = decode_hello(bytes).value();
    CHECK(back.swarm_id == h.swarm_id);
    CHECK(back.role == Role::bootstrap);
    CHECK(back.status == HelloStatus::rejected_low_score);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CHECK(decode_hello(ByteSpan(bytes.data(), n)).error() == Errc::bad_hello);
    }
    auto bad = bytes;
    bad[0] = 9;
    CHECK(decode_hello(bad).error() == Errc::bad_hello);
    bad = bytes;
    bad[1] = 5;
    CHECK(decode_hello(bad).error() == Errc::bad_hello);
    bad = bytes;
    bad[2] = 3;
    CHECK(decode_hello(bad).error() == Errc::bad_hello);
}
