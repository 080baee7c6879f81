#include <catch2/catch.hpp>

#include <algorithm>

#include "bootstrap/error.hpp"
#include "bootstrap/peer_list.hpp"
#include "net/multiaddr.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;

namespace {
const std::string kA =
    "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
const std::string kB =
    "/dns4/boot.example.org/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
}  // namespace

TEST_CASE("peer lists parse with comments, blanks and duplicates", "[peer_list]") {
    auto list = parse_peer_list("# comment\n\n" + kA + "\r\n  " + kB + "  \n" + kA +
                                "\n/dnsaddr/bootstrap.example.org\n")
                    .value();
    CHECK(list == std::vector<std::string>{kA, kB, "/dnsaddr/bootstrap.example.org"});
}

TEST_CASE("bad peer list entries name their line and reason", "[peer_list]") {
    PeerListError error;
    auto r = parse_peer_list(kA + "\n/ip4/127.0.0.1/tcp/4001\n", &error);
    REQUIRE(r.has_error());
    CHECK(r.error() == Errc::bad_peer_list);
    CHECK(error.line == 2);
    CHECK(error.reason.find("/p2p/") != std::string::npos);

    r = parse_peer_list("/ip4/999.0.0.1/tcp/1/p2p/x\n", &error);
    REQUIRE(r.has_error());
    CHECK(error.line == 1);
    CHECK_FALSE(error.reason.empty());
    CHECK_FALSE(check_bootstrap_entry("not a multiaddr").empty());
    CHECK(check_bootstrap_entry(kB).empty());
}

TEST_CASE("the built-in list is valid and extras extend or replace it", "[peer_list]") {
    const auto& builtin = builtin_peers();  // throws if the shipped file were malformed
    // The public libp2p DHT bootstrap peers: /dnsaddr/ names pinned to a peer id, and one IP.
    REQUIRE(builtin.size() >= 5);
    for (const auto& entry : builtin) {
        INFO(entry);
        auto addr = swarmd::net::Multiaddr::parse(entry);
        REQUIRE(addr);
        CHECK(addr.value().peer_id());
    }
    CHECK(std::count_if(builtin.begin(), builtin.end(), [](const std::string& e) {
              return e.starts_with("/dnsaddr/bootstrap.libp2p.io/p2p/Qm");
          }) == 4);
    auto extended = effective_peer_list({{kA, kA}, false});
    CHECK(extended.size() == builtin.size() + 1);
    CHECK(extended.back() == kA);
    CHECK(effective_peer_list({{kB}, true}) == std::vector<std::string>{kB});
}
