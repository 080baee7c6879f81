#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "net/error.hpp"
#include "net/multiaddr.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {
constexpr const char* kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
constexpr const char* kSpecPeerIdHex =
    "0024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";

std::error_code parse_error(std::string_view text) {
    auto r = Multiaddr::parse(text);
    REQUIRE_FALSE(r);
    return r.error();
}

std::error_code binary_error(std::string_view hex) {
    auto r = Multiaddr::from_bytes(hex_decode(hex).value());
    REQUIRE_FALSE(r);
    return r.error();
}
}  // namespace

TEST_CASE("multiaddr vectors round-trip between text and binary", "[net][multiaddr]") {
    // Vectors checked with @multiformats/multiaddr (research/libp2p.md §2).
    const std::pair<std::string, std::string> vectors[] = {
        {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"},
        {"/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1"},
        {"/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb"},
        {std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + kSpecPeerId,
         std::string("0401020304060fa1a50326") + kSpecPeerIdHex},
    };
    for (const auto& [text, hex] : vectors) {
        INFO(text);
        auto ma = Multiaddr::parse(text).value();
        CHECK(hex_encode(ma.to_bytes()) == hex);
        CHECK(ma.to_string() == text);
        auto back = Multiaddr::from_bytes(hex_decode(hex).value()).value();
        CHECK(back == ma);
        CHECK(back.to_string() == text);
    }
}

TEST_CASE("multiaddr accepts every supported protocol", "[net][multiaddr]") {
    const std::string id = kSpecPeerId;
    const std::string texts[] = {
        "/dns/example.com/tcp/1",
        "/dns6/host.local/tcp/65535",
        "/dnsaddr/bootstrap.libp2p.io/p2p/" + id,
        "/ip4/10.0.0.1/udp/4001/quic-v1/p2p/" + id,
        "/ip4/10.0.0.1/tcp/0/ws",
        "/dns4/a.b/tcp/443/wss/p2p/" + id + "/p2p-circuit/p2p/" + id,
        "/ip6/2001:db8::8a2e:370:7334/tcp/80",
        "/ip6/::ffff:1.2.3.4/tcp/80",
    };
    for (const auto& text : texts) {
        INFO(text);
        auto ma = Multiaddr::parse(text);
        REQUIRE(ma);
        CHECK(ma.value().to_string() == text);
        CHECK(Multiaddr::from_bytes(ma.value().to_bytes()).value() == ma.value());
    }
}

TEST_CASE("multiaddr /ipfs is an alias of /p2p", "[net][multiaddr]") {
    auto a = Multiaddr::parse(std::string("/ip4/1.2.3.4/tcp/1/ipfs/") + kSpecPeerId).value();
    auto b = Multiaddr::parse(std::string("/ip4/1.2.3.4/tcp/1/p2p/") + kSpecPeerId).value();
    CHECK(a == b);
    CHECK(a.to_string() == b.to_string());
    // CIDv1 peer ids parse too and print as base58.
    auto c =
        Multiaddr::parse("/p2p/bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6")
            .value();
    CHECK(c.to_string() == std::string("/p2p/") + kSpecPeerId);
}

TEST_CASE("multiaddr helpers", "[net][multiaddr]") {
    auto ma = Multiaddr::parse(std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + kSpecPeerId).value();
    REQUIRE(ma.peer_id());
    CHECK(ma.peer_id()->to_base58() == kSpecPeerId);
    auto bare = ma.without_peer_id();
    CHECK(bare.to_string() == "/ip4/1.2.3.4/tcp/4001");
    CHECK_FALSE(bare.peer_id());
    CHECK(bare.without_peer_id() == bare);
    CHECK(bare.with_peer_id(*ma.peer_id()) == ma);
    CHECK(ma.with_peer_id(*ma.peer_id()) == ma);

    auto ep = ma.tcp_endpoint();
    REQUIRE(ep);
    CHECK(ep->host_protocol == Protocol::ip4);
    CHECK(ep->host == "1.2.3.4");
    CHECK(ep->port == 4001);

    auto dns = Multiaddr::parse("/dns4/example.com/tcp/443").value().tcp_endpoint();
    REQUIRE(dns);
    CHECK(dns->host == "example.com");
    CHECK(dns->port == 443);
    CHECK_FALSE(Multiaddr::parse("/ip4/1.2.3.4/udp/1").value().tcp_endpoint());
    CHECK_FALSE(Multiaddr::parse("/dnsaddr/x.io/tcp/1").value().tcp_endpoint());

    CHECK(Multiaddr::from_ip_tcp("127.0.0.1", 80).value().to_string() == "/ip4/127.0.0.1/tcp/80");
    CHECK(Multiaddr::from_ip_tcp("::1", 9).value().to_string() == "/ip6/::1/tcp/9");
    CHECK(Multiaddr::from_ip_tcp("nonsense", 9).error() == Errc::bad_ip_address);

    auto enc = bare.encapsulate(Multiaddr::parse(std::string("/p2p/") + kSpecPeerId).value());
    CHECK(enc == ma);
    CHECK(protocol_name(Protocol::p2p_circuit) == "p2p-circuit");
    // A trailing slash is tolerated; the canonical form has none.
    CHECK(Multiaddr::parse("/ip4/1.2.3.4/tcp/5/").value().to_string() == "/ip4/1.2.3.4/tcp/5");
}

TEST_CASE("malformed text multiaddrs are rejected with a clear error", "[net][multiaddr]") {
    CHECK(parse_error("") == Errc::malformed_multiaddr);
    CHECK(parse_error("/") == Errc::malformed_multiaddr);
    CHECK(parse_error("ip4/1.2.3.4") == Errc::malformed_multiaddr);
    CHECK(parse_error("/ip4") == Errc::malformed_multiaddr);
    CHECK(parse_error("/ip4//tcp/1") == Errc::malformed_multiaddr);
    CHECK(parse_error("/ip4/1.2.3.4//tcp/1") == Errc::malformed_multiaddr);
    CHECK(parse_error("/ip4/256.1.1.1/tcp/1") == Errc::bad_ip_address);
    CHECK(parse_error("/ip4/1.2.3/tcp/1") == Errc::bad_ip_address);
    CHECK(parse_error("/ip4/::1/tcp/1") == Errc::bad_ip_address);
    CHECK(parse_error("/ip6/1.2.3.4") == Errc::bad_ip_address);
    CHECK(parse_error("/ip6/:::") == Errc::bad_ip_address);
    CHECK(parse_error("/ip4/1.2.3.4/tcp/65536") == Errc::bad_port);
    CHECK(parse_error("/ip4/1.2.3.4/tcp/-1") == Errc::bad_port);
    CHECK(parse_error("/ip4/1.2.3.4/tcp/12a") == Errc::bad_port);
    CHECK(parse_error("/ip4/1.2.3.4/tcp/99999999999999999999") == Errc::bad_port);
    CHECK(parse_error("/ip4/1.2.3.4/sctp/1") == Errc::unknown_protocol);
    CHECK(parse_error("/p2p/notapeerid") == Errc::bad_peer_id);
    CHECK(parse_error("/dns4/" + std::string(300, 'a')) == Errc::bad_dns_name);
    CHECK(parse_error("/ip4/1.2.3.4" + std::string(9000, '/')) == Errc::multiaddr_too_large);
    std::string many;
    for (int i = 0; i < 5; ++i) many += "/dns4/" + std::string(250, 'a');
    CHECK(parse_error(many) == Errc::multiaddr_too_large);
}

TEST_CASE("malformed binary multiaddrs are rejected with a clear error", "[net][multiaddr]") {
    CHECK(binary_error("") == Errc::malformed_multiaddr);
    CHECK(binary_error("047f0000") == Errc::truncated_multiaddr);        // short ip4
    CHECK(binary_error("047f000001060f") == Errc::truncated_multiaddr);  // short port
    CHECK(binary_error("047f00000106") == Errc::truncated_multiaddr);    // missing port
    CHECK(binary_error("a5") == Errc::truncated_multiaddr);              // half a varint code
    CHECK(binary_error("a503") == Errc::truncated_multiaddr);            // no length
    CHECK(binary_error("a50326") == Errc::truncated_multiaddr);          // length, no value
    CHECK(binary_error("a503ffffffffffffffff7f") == Errc::truncated_multiaddr);  // huge length
    CHECK(binary_error("a503ffffffffffffffffff7f") ==
          Errc::malformed_multiaddr);                          // varint overflow
    CHECK(binary_error("8000") == Errc::malformed_multiaddr);  // non-minimal varint
    CHECK(binary_error("99") == Errc::truncated_multiaddr);
    CHECK(binary_error("07") == Errc::unknown_protocol);
    CHECK(binary_error("a5030400010203") == Errc::bad_peer_id);
    CHECK(binary_error("3600") == Errc::bad_dns_name);
    CHECK(binary_error("3603612f62") == Errc::bad_dns_name);  // "a/b" would not survive text
    CHECK(Multiaddr::from_bytes(Bytes(Multiaddr::kMaxBinarySize + 1, 0x04)).error() ==
          Errc::multiaddr_too_large);
}

TEST_CASE("the largest binary multiaddrs still convert to text and back", "[net][multiaddr]") {
    // Found by fuzzing: 1 KiB of short components once printed beyond the text limit.
    for (const std::string& hex : {std::string("0601bb"), std::string("a202"),
                                   std::string("2900000000000000000000000000000001")}) {
        Bytes one = hex_decode(hex).value();
        Bytes bin;
        while (bin.size() + one.size() <= Multiaddr::kMaxBinarySize) append(bin, one);
        auto ma = Multiaddr::from_bytes(bin);
        REQUIRE(ma);
        auto text = Multiaddr::parse(ma.value().to_string());
        INFO(hex << " " << (text ? "" : text.error().message()));
        REQUIRE(text);
        CHECK(text.value() == ma.value());
    }
}
