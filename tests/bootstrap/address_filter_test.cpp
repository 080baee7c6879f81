// Learned addresses: what a peer may make this node dial, by the scope the peer was reached from.
#include <catch2/catch.hpp>

#include "bootstrap/address_filter.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;

namespace {
bool ok(const char* text, Scope informant) {
    return learned_dialable(net::Multiaddr::parse(text).value(), informant);
}
}  // namespace

TEST_CASE("host scopes", "[address_filter]") {
    CHECK(scope_of_host("127.0.0.1") == Scope::loopback);
    CHECK(scope_of_host("127.9.9.9") == Scope::loopback);
    CHECK(scope_of_host("::1") == Scope::loopback);
    CHECK(scope_of_host("::ffff:127.0.0.1") == Scope::loopback);
    CHECK(scope_of_host("10.1.2.3") == Scope::private_net);
    CHECK(scope_of_host("172.16.0.1") == Scope::private_net);
    CHECK(scope_of_host("172.32.0.1") == Scope::public_net);
    CHECK(scope_of_host("192.168.1.1") == Scope::private_net);
    CHECK(scope_of_host("169.254.1.1") == Scope::private_net);
    CHECK(scope_of_host("100.64.0.1") == Scope::private_net);
    CHECK(scope_of_host("fd00::1") == Scope::private_net);
    CHECK(scope_of_host("fe80::1") == Scope::private_net);
    CHECK(scope_of_host("8.8.8.8") == Scope::public_net);
    CHECK(scope_of_host("2001:db8::1") == Scope::public_net);
    CHECK(scope_of_host("example.com") == Scope::public_net);
}

TEST_CASE("a public peer cannot point this node at loopback, the LAN or low ports",
          "[address_filter][hostile]") {
    CHECK(ok("/ip4/8.8.8.8/tcp/4001", Scope::public_net));
    CHECK(ok("/dns4/node.example.com/tcp/4001", Scope::public_net));
    CHECK_FALSE(ok("/ip4/127.0.0.1/tcp/4001", Scope::public_net));
    CHECK_FALSE(ok("/ip4/192.168.1.10/tcp/4001", Scope::public_net));
    CHECK_FALSE(ok("/ip6/::1/tcp/4001", Scope::public_net));
    CHECK_FALSE(ok("/ip4/8.8.8.8/tcp/22", Scope::public_net));
    CHECK_FALSE(ok("/ip4/8.8.8.8/tcp/0", Scope::public_net));
    CHECK_FALSE(ok("/ip4/0.0.0.0/tcp/4001", Scope::loopback));
    CHECK_FALSE(ok("/ip4/224.0.0.1/tcp/4001", Scope::loopback));
    CHECK_FALSE(ok("/ip4/255.255.255.255/tcp/4001", Scope::loopback));
}

TEST_CASE("LAN and loopback peers may hand out their own scope and wider", "[address_filter]") {
    CHECK(ok("/ip4/192.168.1.10/tcp/4001", Scope::private_net));
    CHECK(ok("/ip4/8.8.8.8/tcp/4001", Scope::private_net));
    CHECK_FALSE(ok("/ip4/127.0.0.1/tcp/4001", Scope::private_net));
    CHECK(ok("/ip4/127.0.0.1/tcp/4001", Scope::loopback));
    CHECK(ok("/ip4/10.0.0.2/tcp/4001", Scope::loopback));
}

TEST_CASE("filter_learned keeps dialable addresses once each, at most eight", "[address_filter]") {
    std::vector<std::string> offered{"/ip4/127.0.0.1/tcp/4001", "/ip4/8.8.8.8/tcp/4001",
                                     "/ip4/8.8.8.8/tcp/4001", "not an address"};
    for (int i = 0; i < 20; ++i) offered.push_back("/ip4/8.8.4.4/tcp/" + std::to_string(5000 + i));
    auto kept = filter_learned(offered, Scope::public_net);
    REQUIRE(kept.size() == kMaxLearnedAddrs);
    CHECK(kept[0] == "/ip4/8.8.8.8/tcp/4001");
    CHECK(kept[1] == "/ip4/8.8.4.4/tcp/5000");
}
