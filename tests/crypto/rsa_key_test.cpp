#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "base/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "tests/crypto/rsa_test_key.hpp"

using namespace swarmd;
using namespace swarmd::crypto;
using swarmd::test::der_spki;
using swarmd::test::fake_modulus;
using swarmd::test::key_protobuf;
using swarmd::test::RsaTestKey;

namespace {

const Bytes kF4{0x01, 0x00, 0x01};  // 65537

std::error_code error_of(const Result<PublicKey>& r) {
    REQUIRE_FALSE(r);
    return r.error();
}

}  // namespace

TEST_CASE("an RSA public key parses from its protobuf and round-trips", "[rsa]") {
    const RsaTestKey& rsa = RsaTestKey::shared2048();
    const Bytes der = rsa.spki_der();
    const Bytes pb = rsa.public_protobuf();
    REQUIRE(pb.size() == 3 + 2 + der.size());

    auto key = PublicKey::from_protobuf(pb);
    REQUIRE(key);
    CHECK(key.value().type() == KeyType::rsa);
    CHECK(key.value().ed25519() == nullptr);
    CHECK(Bytes(key.value().data().begin(), key.value().data().end()) == der);
    CHECK(key.value().to_protobuf() == pb);

    auto direct = PublicKey::from_rsa_der(der);
    REQUIRE(direct);
    CHECK(direct.value() == key.value());
    const PublicKey copy = key.value();
    CHECK(copy == key.value());
    CHECK_FALSE(copy == PublicKey());

    auto other = PublicKey::from_protobuf(RsaTestKey(2048).public_protobuf());
    REQUIRE(other);
    CHECK_FALSE(other.value() == key.value());
}

TEST_CASE("an RSA key's peer id is the sha2-256 multihash of its protobuf", "[rsa][peer_id]") {
    const RsaTestKey& rsa = RsaTestKey::shared2048();
    const Bytes pb = rsa.public_protobuf();
    const PublicKey key = PublicKey::from_protobuf(pb).value();
    const PeerId id = PeerId::from_public_key(key);

    Bytes expected{0x12, 0x20};
    append(expected, sha256(pb));
    CHECK(id.bytes() == expected);
    const std::string text = id.to_base58();
    CHECK(text.starts_with("Qm"));
    CHECK(text.size() == 46);
    auto parsed = PeerId::parse(text);
    REQUIRE(parsed);
    CHECK(parsed.value() == id);
    CHECK(PeerId::parse(id.to_cid()).value() == id);
    // A hashed id does not carry its key: it must come from the handshake or the message.
    CHECK_FALSE(id.public_key().has_value());
    CHECK(PeerId::from_public_key(PublicKey::from_rsa_der(rsa.spki_der()).value()) == id);
}

TEST_CASE("RSA PKCS#1 v1.5 SHA-256 signatures verify, and altered ones do not", "[rsa]") {
    const RsaTestKey& rsa = RsaTestKey::shared2048();
    const PublicKey key = PublicKey::from_protobuf(rsa.public_protobuf()).value();
    const Bytes message = {'n', 'o', 'i', 's', 'e', '-', 'l', 'i', 'b', 'p', '2', 'p'};
    const Bytes sig = rsa.sign(message);
    REQUIRE(sig.size() == 256);

    CHECK(key.verify(message, sig));
    const Bytes empty_sig = rsa.sign({});
    CHECK(key.verify({}, empty_sig));
    CHECK_FALSE(key.verify(message, empty_sig));

    Bytes flipped = sig;
    flipped[100] ^= 0x01;
    CHECK_FALSE(key.verify(message, flipped));
    Bytes other_message = message;
    other_message.back() ^= 0x01;
    CHECK_FALSE(key.verify(other_message, sig));
    CHECK_FALSE(key.verify(message, ByteSpan(sig).first(255)));
    Bytes longer = sig;
    longer.push_back(0);
    CHECK_FALSE(key.verify(message, longer));
    CHECK_FALSE(key.verify(message, {}));
    CHECK_FALSE(key.verify(message, ByteSpan(sig).first(64)));  // an Ed25519-sized signature

    const RsaTestKey other(2048);
    CHECK_FALSE(key.verify(message, other.sign(message)));
    // A refused signature leaves nothing on OpenSSL's per-thread error queue.
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("RSA keys below 2048 bits are refused", "[rsa]") {
    const RsaTestKey weak(1024);
    CHECK(error_of(PublicKey::from_protobuf(weak.public_protobuf())) ==
          crypto::Errc::rsa_key_too_small);
    CHECK(error_of(PublicKey::from_rsa_der(weak.spki_der())) == crypto::Errc::rsa_key_too_small);
    CHECK(error_of(PublicKey::from_rsa_der(der_spki(fake_modulus(2047), kF4))) ==
          crypto::Errc::rsa_key_too_small);
    CHECK(PublicKey::from_rsa_der(der_spki(fake_modulus(2048), kF4)));
}

TEST_CASE("RSA keys above 8192 bits and oversize encodings are refused before parsing", "[rsa]") {
    // The bit cap, under the DER cap: an 8200-bit modulus still encodes in under 1100 bytes.
    const Bytes just_over = der_spki(fake_modulus(8200), kF4);
    REQUIRE(just_over.size() <= PublicKey::kMaxRsaDerSize);
    CHECK(error_of(PublicKey::from_rsa_der(just_over)) == crypto::Errc::key_too_large);
    const Bytes largest = der_spki(fake_modulus(8192), kF4);
    auto at_cap = PublicKey::from_protobuf(key_protobuf(0, largest));
    REQUIRE(at_cap);
    CHECK(at_cap.value().to_protobuf().size() <= PublicKey::kMaxProtobufSize);

    // The byte caps: DER and protobuf beyond them are not handed to OpenSSL at all.
    const Bytes huge = der_spki(fake_modulus(16384), kF4);
    CHECK(error_of(PublicKey::from_rsa_der(huge)) == crypto::Errc::key_too_large);
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(0, huge))) == crypto::Errc::key_too_large);
    const Bytes over_cap(PublicKey::kMaxRsaDerSize + 1, 0x30);
    CHECK(error_of(PublicKey::from_rsa_der(over_cap)) == crypto::Errc::key_too_large);
    const Bytes pb_over_cap(PublicKey::kMaxProtobufSize + 1, 0x00);
    CHECK(error_of(PublicKey::from_protobuf(pb_over_cap)) == crypto::Errc::key_too_large);
}

TEST_CASE("malformed RSA DER is refused", "[rsa]") {
    const Bytes der = RsaTestKey::shared2048().spki_der();
    for (std::size_t len :
         {std::size_t{0}, std::size_t{1}, std::size_t{20}, der.size() / 2, der.size() - 1}) {
        INFO("prefix of " << len << " bytes");
        CHECK(error_of(PublicKey::from_rsa_der(ByteSpan(der).first(len))) ==
              crypto::Errc::bad_public_key);
    }
    Bytes trailing = der;
    trailing.push_back(0x00);
    CHECK(error_of(PublicKey::from_rsa_der(trailing)) == crypto::Errc::bad_public_key);

    Bytes garbage(300);
    for (std::size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<std::uint8_t>(i * 37 + 11);
    CHECK(error_of(PublicKey::from_rsa_der(garbage)) == crypto::Errc::bad_public_key);
    garbage[0] = 0x30;  // a SEQUENCE tag in front of nonsense
    CHECK(error_of(PublicKey::from_rsa_der(garbage)) == crypto::Errc::bad_public_key);

    // BER, not DER: the outer length in long form with a leading zero byte.
    Bytes ber{0x30, 0x83, 0x00};
    ber.push_back(der[2]);
    ber.push_back(der[3]);
    ber.insert(ber.end(), der.begin() + 4, der.end());
    REQUIRE(der[1] == 0x82);
    CHECK(error_of(PublicKey::from_rsa_der(ber)) == crypto::Errc::bad_public_key);

    // Public exponents outside odd [3, 2^31).
    const Bytes n = fake_modulus(2048);
    CHECK(error_of(PublicKey::from_rsa_der(der_spki(n, Bytes{0x01}))) ==
          crypto::Errc::bad_public_key);
    CHECK(error_of(PublicKey::from_rsa_der(der_spki(n, Bytes{0x01, 0x00, 0x00}))) ==
          crypto::Errc::bad_public_key);
    CHECK(error_of(PublicKey::from_rsa_der(der_spki(n, Bytes{0x80, 0x00, 0x00, 0x01}))) ==
          crypto::Errc::bad_public_key);
    CHECK(PublicKey::from_rsa_der(der_spki(n, Bytes{0x7f, 0xff, 0xff, 0xff})));
    CHECK(PublicKey::from_rsa_der(der_spki(n, Bytes{0x03})));
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("key protobufs of other types or shapes are refused", "[rsa]") {
    const Bytes ec_der = RsaTestKey::p256().spki_der();
    // A valid SubjectPublicKeyInfo that is not RSA, labelled RSA.
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(0, ec_der))) ==
          crypto::Errc::bad_public_key);
    // Secp256k1 and ECDSA are refused by type, whatever the data.
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(2, Bytes(33, 0x02)))) ==
          crypto::Errc::unsupported_key_type);
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(3, ec_der))) ==
          crypto::Errc::unsupported_key_type);
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(9, Bytes(32, 0x01)))) ==
          crypto::Errc::unsupported_key_type);

    const Bytes der = RsaTestKey::shared2048().spki_der();
    // RSA DER labelled Ed25519, and 32 bytes labelled RSA.
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(1, der))) == crypto::Errc::bad_length);
    CHECK(error_of(PublicKey::from_protobuf(key_protobuf(0, Bytes(32, 0x30)))) ==
          crypto::Errc::bad_public_key);

    // A non-minimal length varint, and a length that disagrees with the bytes.
    Bytes padded{0x08,
                 0x00,
                 0x12,
                 static_cast<std::uint8_t>(0x80 | (der.size() & 0x7f)),
                 static_cast<std::uint8_t>(0x80 | (der.size() >> 7)),
                 0x00};
    append(padded, der);
    CHECK(error_of(PublicKey::from_protobuf(padded)) == crypto::Errc::bad_public_key);
    Bytes short_pb = key_protobuf(0, der);
    short_pb.pop_back();
    CHECK(error_of(PublicKey::from_protobuf(short_pb)) == crypto::Errc::bad_length);

    // Our own keys stay Ed25519: an RSA private key protobuf is refused by type.
    CHECK(PrivateKey::from_protobuf(key_protobuf(0, der)).error() ==
          crypto::Errc::unsupported_key_type);
}

TEST_CASE("Ed25519 keys keep their encoding and accessor", "[rsa]") {
    const PrivateKey priv = PrivateKey::generate();
    const PublicKey& key = priv.public_key();
    CHECK(key.type() == KeyType::ed25519);
    REQUIRE(key.ed25519() != nullptr);
    CHECK(key.data().size() == PublicKey::kSize);
    const Bytes pb = key.to_protobuf();
    CHECK(pb.size() == 36);
    CHECK(PublicKey::from_protobuf(pb).value() == key);
    CHECK(PeerId::from_public_key(key).to_base58().starts_with("12D3KooW"));
    const Bytes msg{1, 2, 3};
    CHECK(key.verify(msg, priv.sign(msg)));
    CHECK(PrivateKey::from_protobuf(priv.to_protobuf()).value().public_key() == key);
}
