#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "net/error.hpp"
#include "net/identify.hpp"
#include "net/identify.pb.h"
#include "net/ping.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {

net::IdentifyInfo sample_info() {
    IdentifyInfo info;
    info.public_key = crypto::PrivateKey::from_seed(Bytes(32, 7)).public_key();
    info.listen_addrs = {{0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1}};
    info.observed_addr = Bytes{0x04, 1, 2, 3, 4, 0x06, 0x01, 0xbb};
    info.protocols = {std::string(kIdentifyProtocol), std::string(kPingProtocol)};
    info.agent_version = std::string(kAgentVersion);
    info.protocol_version = std::string(kIdentifyProtocolVersion);
    return info;
}

}  // namespace

TEST_CASE("identify round-trips every field", "[identify]") {
    const IdentifyInfo info = sample_info();
    auto body = encode_identify(info);
    REQUIRE(body);
    auto decoded = decode_identify(body.value());
    REQUIRE(decoded);
    CHECK(decoded.value().public_key == info.public_key);
    CHECK(decoded.value().listen_addrs == info.listen_addrs);
    CHECK(decoded.value().observed_addr == info.observed_addr);
    CHECK(decoded.value().protocols == info.protocols);
    CHECK(decoded.value().agent_version == "swarmd/0.1.0");
    CHECK(decoded.value().protocol_version == "ipfs/0.1.0");
}

TEST_CASE("identify uses the spec's field numbers", "[identify]") {
    // Field 1 (publicKey, bytes) is tag 0x0a and holds the libp2p PublicKey protobuf 08 01 12 20.
    auto body = encode_identify(sample_info());
    REQUIRE(body);
    pb::Identify msg;
    REQUIRE(msg.ParseFromArray(body.value().data(), static_cast<int>(body.value().size())));
    CHECK(msg.protocols(0) == "/ipfs/id/1.0.0");
    const std::string key = msg.publickey();
    REQUIRE(key.size() == 36);
    CHECK(key.substr(0, 4) == std::string("\x08\x01\x12\x20", 4));
}

TEST_CASE("identify rejects hostile or incomplete messages", "[identify]") {
    SECTION("no public key") {
        IdentifyInfo info = sample_info();
        info.public_key.reset();
        auto body = encode_identify(info);
        REQUIRE(body);
        CHECK(decode_identify(body.value()).error() == Errc::protocol_error);
    }
    SECTION("garbage") {
        const Bytes junk{0xff, 0xff, 0xff, 0xff};
        CHECK(decode_identify(junk).error() == Errc::protocol_error);
    }
    SECTION("a Secp256k1 key") {
        pb::Identify msg;
        msg.set_publickey(std::string("\x08\x02\x12\x01\x00", 5));
        const std::string s = msg.SerializeAsString();
        CHECK(decode_identify(as_bytes(s)).error() == Errc::unsupported_key_type);
    }
    SECTION("too large to send") {
        IdentifyInfo info = sample_info();
        info.protocols.assign(200, std::string(64, 'p'));
        CHECK(encode_identify(info).error() == Errc::message_too_large);
    }
}

TEST_CASE("ping echoes whole payloads and checks the echo", "[ping]") {
    std::uint8_t counter = 0;
    PingClient client([&](MutableByteSpan out) {
        for (auto& b : out) b = counter++;
    });
    PingResponder responder;
    auto payload = client.start();
    REQUIRE(payload);
    CHECK(client.start().error() == Errc::invalid_state);

    // Delivered in two pieces: the responder echoes nothing until the payload is whole.
    const ByteSpan sent(payload.value());
    CHECK(responder.on_data(sent.first(10)).empty());
    const Bytes echo = responder.on_data(sent.subspan(10));
    REQUIRE(echo.size() == kPingPayloadSize);

    auto partial = client.on_data(ByteSpan(echo).first(31));
    REQUIRE(partial);
    CHECK_FALSE(partial.value());
    auto done = client.on_data(ByteSpan(echo).subspan(31));
    REQUIRE(done);
    CHECK(done.value());

    auto second = client.start();
    REQUIRE(second);
    CHECK(second.value() != payload.value());
    Bytes wrong(second.value().begin(), second.value().end());
    wrong[0] ^= 1;
    CHECK(client.on_data(wrong).error() == Errc::protocol_error);
}
