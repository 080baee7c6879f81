#include <catch2/catch.hpp>

#include "bootstrap/reach.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"

using namespace swarmd;
using bootstrap::looks_translated;
using net::Multiaddr;

namespace {
std::vector<Multiaddr> addrs(std::initializer_list<const char*> texts) {
    std::vector<Multiaddr> out;
    for (const char* t : texts) out.push_back(Multiaddr::parse(t).value());
    return out;
}
}  // namespace

TEST_CASE("a node on a private LAN that a peer sees at a public address looks translated",
          "[bootstrap][reach]") {
    const net::AddressPolicy policy;
    const auto lan = addrs({"/ip4/192.168.1.20/tcp/4001", "/ip4/127.0.0.1/tcp/4001"});
    // A documentation range (TEST-NET-3) is not the internet either.
    CHECK_FALSE(looks_translated(lan, addrs({"/ip4/203.0.113.9/tcp/4001"}), policy));
    CHECK(looks_translated(lan, addrs({"/ip4/8.8.4.4/tcp/51000"}), policy));
    // Only private observations (a peer on the same LAN): nothing says a router translates.
    CHECK_FALSE(looks_translated(lan, addrs({"/ip4/192.168.1.20/tcp/4001"}), policy));
    CHECK_FALSE(looks_translated(lan, {}, policy));
}

TEST_CASE("a node with a public listen address never looks translated", "[bootstrap][reach]") {
    const net::AddressPolicy policy;
    const auto listen = addrs({"/ip4/8.8.8.8/tcp/4001", "/ip4/10.0.0.2/tcp/4001"});
    CHECK_FALSE(looks_translated(listen, addrs({"/ip4/8.8.4.4/tcp/4001"}), policy));
}

TEST_CASE("treat_as_public makes a lab's range count as the internet", "[bootstrap][reach]") {
    const net::AddressPolicy lab({*net::Cidr::parse("198.18.0.0/15")});
    const auto home = addrs({"/ip4/192.168.3.2/tcp/4001"});
    const auto seen = addrs({"/ip4/198.18.0.5/tcp/4001"});
    CHECK(looks_translated(home, seen, lab));
    CHECK_FALSE(looks_translated(home, seen, net::AddressPolicy{}));
    // A relay's address is the relay's, not ours.
    const auto relay =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).to_base58();
    const auto circuit = Multiaddr::parse("/ip4/198.18.0.2/tcp/4001/p2p/" + relay + "/p2p-circuit");
    CHECK_FALSE(looks_translated(home, {circuit.value()}, lab));
}
