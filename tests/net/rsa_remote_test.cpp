// Remote peers with RSA identities (the public DHT's bootstrap peers): every place net/ checks a
// remote's key accepts an RSA key signed as libp2p signs (PKCS#1 v1.5, SHA-256) and refuses a
// forged or mismatched one. The full handshake with a real RSA peer is tests/interop/rsa_test.cpp.
#include <catch2/catch.hpp>

#include "crypto/noise_primitives.hpp"
#include "net/envelope.pb.h"
#include "net/error.hpp"
#include "net/gossipsub_message.hpp"
#include "net/identify.hpp"
#include "net/noise.hpp"
#include "net/noise_payload.pb.h"
#include "net/peer_record.hpp"
#include "tests/crypto/rsa_test_key.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::test::RsaTestKey;

namespace {

const RsaTestKey& rsa() { return RsaTestKey::shared2048(); }

crypto::PublicKey rsa_public() {
    return crypto::PublicKey::from_protobuf(rsa().public_protobuf()).value();
}

crypto::PeerId rsa_peer_id() { return crypto::PeerId::from_public_key(rsa_public()); }

std::string to_string(ByteSpan b) { return std::string(as_string_view(b)); }

Bytes noise_payload(const RsaTestKey& signer, const crypto::DhPublic& static_key) {
    std::string signed_text = "noise-libp2p-static-key:";
    signed_text.append(as_string_view(static_key));
    pb::NoiseHandshakePayload msg;
    msg.set_identity_key(to_string(signer.public_protobuf()));
    msg.set_identity_sig(to_string(signer.sign(as_bytes(signed_text))));
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

}  // namespace

TEST_CASE("the Noise identity payload accepts an RSA identity key", "[rsa][noise]") {
    const crypto::DhKeyPair remote_static = crypto::DhKeyPair::generate();
    const Bytes payload = noise_payload(rsa(), remote_static.public_key());

    auto remote = noise_verify_payload(payload, remote_static.public_key(), std::nullopt);
    REQUIRE(remote);
    CHECK(remote.value().public_key == rsa_public());
    CHECK(remote.value().peer_id == rsa_peer_id());
    CHECK(remote.value().peer_id.to_base58().rfind("Qm", 0) == 0);
    // Dialing the hashed id: it must match the key that signed.
    CHECK(noise_verify_payload(payload, remote_static.public_key(), rsa_peer_id()));
    const auto other = crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    CHECK(noise_verify_payload(payload, remote_static.public_key(), other).error() ==
          Errc::peer_id_mismatch);

    // A signature over another static key is refused.
    const crypto::DhKeyPair other_static = crypto::DhKeyPair::generate();
    CHECK(noise_verify_payload(payload, other_static.public_key(), std::nullopt).error() ==
          Errc::bad_signature);
    // An RSA key below 2048 bits is refused before any signature check.
    const Bytes weak = noise_payload(RsaTestKey(1024), remote_static.public_key());
    CHECK_FALSE(noise_verify_payload(weak, remote_static.public_key(), std::nullopt));
}

TEST_CASE("identify carries an RSA public key", "[rsa][identify]") {
    IdentifyInfo info;
    info.public_key = rsa_public();
    info.agent_version = "go-ipfs/test";
    auto encoded = encode_identify(info);
    REQUIRE(encoded);
    auto decoded = decode_identify(encoded.value());
    REQUIRE(decoded);
    REQUIRE(decoded.value().public_key);
    CHECK(*decoded.value().public_key == rsa_public());
    CHECK(decoded.value().public_key->type() == crypto::KeyType::rsa);
}

TEST_CASE("a peer record sealed with an RSA key opens under its hashed peer id",
          "[rsa][peer_record]") {
    PeerRecord record;
    record.peer_id = rsa_peer_id();
    record.seq = 7;
    record.addresses.push_back(Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value());
    const Bytes payload = encode_peer_record(record);
    auto seal = [&](const RsaTestKey& signer, ByteSpan signed_payload) {
        pb::Envelope envelope;
        envelope.set_public_key(to_string(signer.public_protobuf()));
        envelope.set_payload_type(to_string(kPeerRecordPayloadType));
        envelope.set_payload(to_string(payload));
        envelope.set_signature(to_string(signer.sign(
            envelope_signing_buffer(kPeerRecordDomain, kPeerRecordPayloadType, signed_payload))));
        Bytes out(envelope.ByteSizeLong());
        envelope.SerializeToArray(out.data(), static_cast<int>(out.size()));
        return out;
    };

    auto opened = open_peer_record(seal(rsa(), payload), rsa_peer_id());
    REQUIRE(opened);
    CHECK(opened.value().peer_id == rsa_peer_id());
    CHECK(opened.value().seq == 7);
    REQUIRE(opened.value().addresses.size() == 1);

    // Signed over different bytes than the envelope's payload.
    Bytes altered = payload;
    altered.back() ^= 0x01;
    CHECK_FALSE(open_peer_record(seal(rsa(), altered)));
    // Signed by another RSA key: its id is not the record's.
    CHECK_FALSE(open_peer_record(seal(RsaTestKey(2048), payload)));
}

TEST_CASE("gossipsub accepts a message signed by an RSA author with its key attached",
          "[rsa][gossipsub]") {
    gossipsub::pb::Message m;
    m.set_from(to_string(rsa_peer_id().bytes()));
    m.set_data("hello from a Qm peer");
    m.set_seqno(gossipsub::encode_seqno(42));
    m.set_topic("t");
    m.set_signature(to_string(rsa().sign(gossipsub::signed_payload(m))));
    m.set_key(to_string(rsa().public_protobuf()));

    auto author = gossipsub::verify_message(m);
    REQUIRE(author);
    CHECK(author.value() == rsa_peer_id());

    // A hashed author id without the key cannot be checked.
    gossipsub::pb::Message keyless = m;
    keyless.clear_key();
    CHECK_FALSE(gossipsub::verify_message(keyless));
    // Tampered data, and a key that is not the author's.
    gossipsub::pb::Message tampered = m;
    tampered.set_data("hello from someone else");
    CHECK_FALSE(gossipsub::verify_message(tampered));
    gossipsub::pb::Message other_key = m;
    other_key.set_key(to_string(RsaTestKey(2048).public_protobuf()));
    CHECK_FALSE(gossipsub::verify_message(other_key));
}
