// /dnsaddr/ resolution against a real DNS server (Debian's dnsmasq) on loopback.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/error.hpp"
#include "tests/bootstrap/dnsmasq.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
using swarmd::testing::Dnsmasq;
namespace asio = boost::asio;

namespace {

constexpr const char* kPeerA = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
constexpr const char* kPeerB = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

Result<std::vector<std::string>> resolve(const Dnsmasq& dns, const std::string& maddr,
                                         int max_depth = DnsaddrOptions::kDefaultMaxDepth) {
    asio::io_context io;
    DnsaddrOptions options;
    options.servers = {dns.endpoint()};
    options.timeout = std::chrono::milliseconds(300);
    options.max_depth = max_depth;
    DnsaddrResolver resolver(io, options);
    std::optional<Result<std::vector<std::string>>> out;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out = co_await resolver.resolve(maddr); },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    return *out;
}

}  // namespace

TEST_CASE("dnsaddr entries resolve recursively through a real DNS server", "[dnsaddr]") {
    const std::string a = std::string("/ip4/127.0.0.1/tcp/4001/p2p/") + kPeerA;
    const std::string b = std::string("/ip4/127.0.0.2/tcp/4002/p2p/") + kPeerB;
    Dnsmasq dns({
        {"_dnsaddr.boot.test", "dnsaddr=" + a},
        {"_dnsaddr.boot.test", std::string("dnsaddr=/dnsaddr/more.test/p2p/") + kPeerB},
        {"_dnsaddr.boot.test", "unrelated=1"},
        {"_dnsaddr.more.test", "dnsaddr=" + b},
        {"_dnsaddr.loop-a.test", "dnsaddr=/dnsaddr/loop-b.test"},
        {"_dnsaddr.loop-b.test", "dnsaddr=/dnsaddr/loop-a.test"},
        {"_dnsaddr.deep0.test", "dnsaddr=/dnsaddr/deep1.test"},
        {"_dnsaddr.deep1.test", "dnsaddr=/dnsaddr/deep2.test"},
        {"_dnsaddr.deep2.test", "dnsaddr=/dnsaddr/deep3.test"},
        {"_dnsaddr.deep3.test", "dnsaddr=/dnsaddr/deep4.test"},
        {"_dnsaddr.deep4.test", "dnsaddr=/dnsaddr/deep5.test"},
        {"_dnsaddr.deep5.test", "dnsaddr=" + a},
        {"_dnsaddr.empty.test", "nothing=here"},
    });
    REQUIRE(dns.wait_until_serving());

    SECTION("recursive resolution collects every peer") {
        auto r = resolve(dns, "/dnsaddr/boot.test").value();
        std::sort(r.begin(), r.end());  // DNS does not order records
        CHECK(r == std::vector<std::string>{a, b});
    }
    SECTION("a /p2p/ suffix keeps only that peer's records") {
        auto r = resolve(dns, std::string("/dnsaddr/boot.test/p2p/") + kPeerB).value();
        CHECK(r == std::vector<std::string>{b});
    }
    SECTION("a loop is an error, not a hang") {
        CHECK(resolve(dns, "/dnsaddr/loop-a.test").error() == Errc::dnsaddr_loop);
    }
    SECTION("an over-deep chain is an error; a higher limit resolves it") {
        CHECK(resolve(dns, "/dnsaddr/deep0.test").error() == Errc::dnsaddr_too_deep);
        CHECK(resolve(dns, "/dnsaddr/deep0.test", 8).value() == std::vector<std::string>{a});
    }
    SECTION("a missing name and a name without dnsaddr records are told apart") {
        CHECK(resolve(dns, "/dnsaddr/missing.test").error() == Errc::dns_name_not_found);
        CHECK(resolve(dns, "/dnsaddr/empty.test").error() == Errc::dnsaddr_no_records);
    }
}

TEST_CASE("a silent DNS server times out", "[dnsaddr]") {
    asio::io_context io;
    // A bound socket that never answers.
    asio::ip::udp::socket silent(io,
                                 asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    DnsaddrOptions options;
    options.servers = {silent.local_endpoint()};
    options.timeout = std::chrono::milliseconds(100);
    DnsaddrResolver resolver(io, options);
    std::optional<Result<std::vector<std::string>>> out;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out = co_await resolver.resolve("/dnsaddr/x.test"); },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    CHECK(out->error() == Errc::dns_timeout);
}

TEST_CASE("resolv.conf nameservers are read", "[dnsaddr]") {
    char path[] = "/tmp/swarmd-resolv-XXXXXX";
    int fd = mkstemp(path);
    const std::string text =
        "# comment\nnameserver 10.0.0.1\nsearch x\nnameserver ::1\nnameserver bogus\n";
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    auto servers = system_nameservers(path);
    unlink(path);
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].address().to_string() == "10.0.0.1");
    CHECK(servers[1].address().to_string() == "::1");
    CHECK(servers[0].port() == 53);
}
