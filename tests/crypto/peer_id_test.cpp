#include <optional>

#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "base/error.hpp"
#include "crypto/error.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"

using namespace swarmd;
using namespace swarmd::crypto;

namespace {
// The Ed25519 key from the libp2p peer-ids spec (research/libp2p.md §2).
constexpr const char* kSpecPublicPb =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr const char* kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
constexpr const char* kSpecCid =
    "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6";
}  // namespace

TEST_CASE("spec Ed25519 key gives the spec peer id", "[peer_id]") {
    auto pb = hex_decode(kSpecPublicPb).value();
    auto key = PublicKey::from_protobuf(pb).value();
    REQUIRE(key.to_protobuf() == pb);
    auto id = PeerId::from_public_key(key);
    CHECK(id.to_base58() == kSpecPeerId);
    CHECK(id.to_cid() == kSpecCid);
    CHECK(hex_encode(id.bytes()).starts_with("0024080112201ed1"));
    REQUIRE(id.public_key().has_value());
    CHECK(*id.public_key() == key);
    CHECK_FALSE(id.hashes_key());
}

TEST_CASE("an RSA-style peer id hashes its key and inlines none", "[peer_id]") {
    // The SHA-256 form the public DHT's bootstrap peers have.
    auto id = PeerId::parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN").value();
    CHECK(id.hashes_key());
    CHECK_FALSE(id.public_key().has_value());
    // A short identity multihash is a valid id but holds no key and hashes none.
    auto keyless = PeerId::parse("12D3KooWnope").value();
    CHECK_FALSE(keyless.hashes_key());
    CHECK_FALSE(keyless.public_key().has_value());
}

TEST_CASE("peer ids parse from base58 and CIDv1", "[peer_id]") {
    auto a = PeerId::parse(kSpecPeerId).value();
    auto b = PeerId::parse(kSpecCid).value();
    CHECK(a == b);
    CHECK(a.to_base58() == kSpecPeerId);
}

TEST_CASE("malformed peer ids are rejected with an error", "[peer_id]") {
    CHECK(PeerId::parse("").error() == Errc::bad_length);
    CHECK(PeerId::parse("12D3KooW0000").error() ==
          EncodingErrc::bad_base58);  // '0' not in alphabet
    CHECK(PeerId::parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3").error() ==
          Errc::bad_multihash);  // truncated
    CHECK(PeerId::parse("xabc").error() == Errc::bad_multibase);
    CHECK(PeerId::parse("bafyreigh2akiscaildc").has_error());  // dag-cbor CID, not libp2p-key
    auto sha = Bytes{0x12, 0x20};
    sha.resize(34, 0xab);
    CHECK(PeerId::from_bytes(sha).has_value());
    sha.pop_back();
    CHECK(PeerId::from_bytes(sha).error() == Errc::bad_multihash);
}

TEST_CASE("base58 and base32 round-trip arbitrary bytes", "[encoding]") {
    for (std::size_t len = 0; len < 70; ++len) {
        Bytes data(len);
        for (std::size_t i = 0; i < len; ++i)
            data[i] = static_cast<std::uint8_t>(i * 37 % 7 == 0 ? 0 : i * 91);
        CHECK(base58_decode(base58_encode(data)).value() == data);
        CHECK(base32_decode(base32_encode(data)).value() == data);
        CHECK(hex_decode(hex_encode(data)).value() == data);
    }
    CHECK(base58_encode(Bytes{0, 0, 1}) == "112");
    CHECK(base32_encode(as_bytes("foobar")) == "mzxw6ytboi");
}

TEST_CASE("spec private key signs like js-libp2p", "[keys]") {
    // research/libp2p.md §2: signature over "libp2p-pubsub:" made with @libp2p/crypto.
    constexpr const char* kExpected =
        "fe37f314cfb3245705bc48641304c0911b2bed0fb5da391259b7a74960c12b717fcfadd58bf3eba68637f478"
        "b1515a7e32d21499af8cf9f94d84d45085495a09";
    // The spec's private key protobuf (peer-ids.md test vector).
    auto priv_pb =
        hex_decode(
            "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8"
            "fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")
            .value();
    auto key = PrivateKey::from_protobuf(priv_pb).value();
    CHECK(PeerId::from_public_key(key.public_key()).to_base58() == kSpecPeerId);
    auto sig = key.sign(as_bytes("libp2p-pubsub:"));
    CHECK(hex_encode(sig) == kExpected);
    CHECK(key.public_key().verify(as_bytes("libp2p-pubsub:"), sig));
    sig[0] ^= 1;
    CHECK_FALSE(key.public_key().verify(as_bytes("libp2p-pubsub:"), sig));
    CHECK(key.to_protobuf() == priv_pb);
}

TEST_CASE("a cloned private key is the same identity and outlives the original", "[keys]") {
    const Bytes message = {1, 2, 3, 4};
    std::optional<crypto::PrivateKey> original = crypto::PrivateKey::generate();
    crypto::PrivateKey copy = original->clone();
    const Bytes serialized = original->to_protobuf();
    const crypto::PublicKey public_key = original->public_key();
    original.reset();  // the original's secret is wiped; the copy keeps its own
    CHECK(copy.to_protobuf() == serialized);
    CHECK(copy.public_key() == public_key);
    const auto signature = copy.sign(message);
    CHECK(public_key.verify(message, signature));
    CHECK(copy.clone().sign(message) == signature);  // Ed25519 signatures are deterministic
}
