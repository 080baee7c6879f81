// DCUtR's sans-I/O parts: the HolePunch codec against hand-built protobuf bytes and hostile
// input, and the choice of addresses a punch dials.
#include <catch2/catch.hpp>

#include "net/dcutr.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {

Multiaddr ma(std::string_view text) { return Multiaddr::parse(text).value(); }

// Field 1 (varint) type, then field 2 (bytes) per address: the wire form the spec's schema gives.
Bytes wire(std::uint32_t type, const std::vector<Multiaddr>& addrs) {
    Bytes out{0x08};
    for (std::uint32_t v = type;; v >>= 7) {
        if (v < 0x80) {
            out.push_back(static_cast<std::uint8_t>(v));
            break;
        }
        out.push_back(static_cast<std::uint8_t>((v & 0x7f) | 0x80));
    }
    for (const Multiaddr& a : addrs) {
        const Bytes b = a.to_bytes();
        out.push_back(0x12);
        out.push_back(static_cast<std::uint8_t>(b.size()));
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

}  // namespace

TEST_CASE("dcutr: CONNECT and SYNC encode to the spec's wire form and decode back", "[dcutr]") {
    const std::vector<Multiaddr> addrs{ma("/ip4/1.2.3.7/tcp/4001"),
                                       ma("/ip6/2001:db8::1/tcp/4001")};
    dcutr::HolePunch connect{dcutr::Type::connect, addrs};
    auto encoded = dcutr::encode(connect);
    REQUIRE(encoded);
    CHECK(encoded.value() == wire(100, addrs));
    auto decoded = dcutr::decode(encoded.value());
    REQUIRE(decoded);
    CHECK(decoded.value().type == dcutr::Type::connect);
    CHECK(decoded.value().addrs == addrs);

    auto sync = dcutr::encode(dcutr::HolePunch{dcutr::Type::sync, {}});
    REQUIRE(sync);
    CHECK(sync.value() == wire(300, {}));
    auto back = dcutr::decode(sync.value());
    REQUIRE(back);
    CHECK(back.value().type == dcutr::Type::sync);
    CHECK(back.value().addrs.empty());
}

TEST_CASE("dcutr: hostile messages are refused with a clear error", "[dcutr]") {
    CHECK(dcutr::decode(wire(7, {})).error() == dcutr::Errc::unknown_message_type);
    CHECK(dcutr::decode(Bytes{}).error() == dcutr::Errc::missing_type);
    CHECK(dcutr::decode(Bytes{0x12, 0x05, 0x01}).error() == dcutr::Errc::malformed_message);
    CHECK(dcutr::decode(Bytes(dcutr::Limits::kMaxMessageSize + 1, 0x00)).error() ==
          dcutr::Errc::message_too_large);
    // An address that is not a multiaddr at all.
    Bytes bad = wire(100, {});
    bad.insert(bad.end(), {0x12, 0x03, 0xff, 0xff, 0xff});
    CHECK(dcutr::decode(bad).error() == dcutr::Errc::bad_multiaddr);
    CHECK(std::string(dcutr::make_error_code(dcutr::Errc::bad_multiaddr).message()).find("dcutr") !=
          std::string::npos);
}

TEST_CASE("dcutr: a long address list is cut at the limit, and encoding refuses one", "[dcutr]") {
    std::vector<Multiaddr> many;
    for (int i = 0; i < 40; ++i)
        many.push_back(ma("/ip4/1.2.3." + std::to_string(i) + "/tcp/4001"));
    auto decoded = dcutr::decode(wire(100, many));
    REQUIRE(decoded);
    CHECK(decoded.value().addrs.size() == dcutr::Limits::kDefaultMaxAddrs);
    CHECK(decoded.value().addrs.front() == many.front());
    CHECK(dcutr::encode(dcutr::HolePunch{dcutr::Type::connect, many}).error() ==
          dcutr::Errc::too_many_addrs);
}

TEST_CASE("dcutr: a punch dials public direct TCP addresses and DNS names only, each once",
          "[dcutr]") {
    const AddressPolicy policy;
    const std::vector<Multiaddr> offered{
        ma("/ip4/1.2.3.7/tcp/4001"),
        ma("/ip4/1.2.3.7/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"),
        ma("/ip4/192.168.1.5/tcp/4001"),
        ma("/ip4/127.0.0.1/tcp/4001"),
        ma("/ip4/0.0.0.0/tcp/4001"),
        ma("/ip4/1.2.3.8/tcp/0"),
        ma("/dns4/example.com/tcp/4001"),
        ma("/ip4/1.2.3.9/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/"
           "p2p-circuit"),
        ma("/ip4/1.2.3.10/tcp/4001/ws"),
        ma("/ip6/2001:4860::1/tcp/4001"),
    };
    const auto targets = dcutr::punch_targets(offered, policy);
    CHECK(targets == std::vector<Multiaddr>{ma("/ip4/1.2.3.7/tcp/4001"),
                                            ma("/dns4/example.com/tcp/4001"),
                                            ma("/ip6/2001:4860::1/tcp/4001")});
    // A lab's range, or loopback in a test, counts when the policy says so.
    const AddressPolicy lab({Cidr::parse("127.0.0.0/8").value()});
    CHECK(dcutr::punch_targets({ma("/ip4/127.0.0.1/tcp/4001")}, lab) ==
          std::vector<Multiaddr>{ma("/ip4/127.0.0.1/tcp/4001")});
    CHECK(dcutr::punch_targets(offered, policy, 1).size() == 1);
}
