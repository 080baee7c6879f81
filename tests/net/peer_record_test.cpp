#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/envelope.pb.h"
#include "net/error.hpp"
#include "net/peer_record.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {

crypto::PrivateKey key_from(std::uint8_t fill) {
    return crypto::PrivateKey::from_seed(Bytes(32, fill));
}

PeerRecord record_for(const crypto::PrivateKey& key, std::uint64_t seq) {
    return PeerRecord{crypto::PeerId::from_public_key(key.public_key()),
                      seq,
                      {Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value(),
                       Multiaddr::parse("/ip6/::1/tcp/4002").value()}};
}

pb::Envelope parse_envelope(const Bytes& bytes) {
    pb::Envelope msg;
    REQUIRE(msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    return msg;
}

Bytes serialize(const pb::Envelope& msg) {
    const std::string s = msg.SerializeAsString();
    return Bytes(s.begin(), s.end());
}

// Seed 07×32, seq 1795637112856, the two addresses of record_for(): sealed by js-libp2p
// (@libp2p/peer-record RecordEnvelope.seal, as the interop peer installs it). Ed25519 signatures
// are deterministic, so swarmd must produce the same bytes.
constexpr std::string_view kJsEnvelopeHex =
    "0a2408011220ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c120203011a530a"
    "26002408011220ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c1098e0bfa2a1"
    "341a0a0a08047f000001060fa11a160a142900000000000000000000000000000001060fa22a403ecf29feb13d"
    "c9dd29845cd02f14b5513e4932970d721aca89dec89fa802e0dc19c5dd3466017a66d1b328d6862afe6deb04c4"
    "1a73e06c8984e13c0b04876700";

}  // namespace

TEST_CASE("the signing buffer is length-prefixed domain, type and payload", "[peer_record]") {
    const Bytes payload{0xaa, 0xbb};
    const Bytes buffer =
        envelope_signing_buffer(kPeerRecordDomain, kPeerRecordPayloadType, payload);
    Bytes expected{static_cast<std::uint8_t>(kPeerRecordDomain.size())};
    expected.insert(expected.end(), kPeerRecordDomain.begin(), kPeerRecordDomain.end());
    expected.insert(expected.end(), {0x02, 0x03, 0x01, 0x02, 0xaa, 0xbb});
    CHECK(buffer == expected);
}

TEST_CASE("a sealed peer record opens to the same record", "[peer_record]") {
    const auto key = key_from(3);
    const PeerRecord record = record_for(key, 42);
    auto envelope = seal_peer_record(record, key);
    REQUIRE(envelope);
    auto opened = open_peer_record(envelope.value());
    REQUIRE(opened);
    CHECK(opened.value().peer_id == record.peer_id);
    CHECK(opened.value().seq == 42);
    CHECK(opened.value().addresses == record.addresses);
}

TEST_CASE("swarmd and js-libp2p seal the same envelope", "[peer_record][interop]") {
    const auto key = key_from(7);
    const Bytes js = hex_decode(kJsEnvelopeHex).value();
    auto ours = seal_peer_record(record_for(key, 1795637112856ULL), key);
    REQUIRE(ours);
    CHECK(ours.value() == js);
    auto opened = open_peer_record(js);
    REQUIRE(opened);
    CHECK(opened.value().peer_id == crypto::PeerId::from_public_key(key.public_key()));
    CHECK(opened.value().seq == 1795637112856ULL);
    CHECK(opened.value().addresses.size() == 2);
}

TEST_CASE("a record signed by another key is not sealed", "[peer_record]") {
    CHECK(seal_peer_record(record_for(key_from(1), 1), key_from(2)).error() == Errc::invalid_state);
}

TEST_CASE("tampered envelopes are rejected", "[peer_record]") {
    const auto key = key_from(3);
    const Bytes good = seal_peer_record(record_for(key, 5), key).value();

    SECTION("signature") {
        auto msg = parse_envelope(good);
        std::string sig = msg.signature();
        sig[10] ^= 1;
        msg.set_signature(sig);
        CHECK(open_peer_record(serialize(msg)).error() == Errc::bad_signature);
    }
    SECTION("payload") {
        auto msg = parse_envelope(good);
        std::string payload = msg.payload();
        payload.back() ^= 1;
        msg.set_payload(payload);
        CHECK(open_peer_record(serialize(msg)).error() == Errc::bad_signature);
    }
    SECTION("payload type") {
        auto msg = parse_envelope(good);
        msg.set_payload_type("/libp2p/routing-state-record");
        CHECK(open_peer_record(serialize(msg)).error() == Errc::bad_record_type);
    }
    SECTION("another key in the envelope") {
        auto msg = parse_envelope(good);
        const Bytes other = key_from(4).public_key().to_protobuf();
        msg.set_public_key(other.data(), other.size());
        CHECK(open_peer_record(serialize(msg)).error() == Errc::bad_signature);
    }
    SECTION("a record naming another peer, signed by the envelope key") {
        PeerRecord record = record_for(key, 5);
        record.peer_id = crypto::PeerId::from_public_key(key_from(4).public_key());
        const Bytes payload = encode_peer_record(record);
        auto msg = parse_envelope(good);
        msg.set_payload(payload.data(), payload.size());
        const auto sig =
            key.sign(envelope_signing_buffer(kPeerRecordDomain, kPeerRecordPayloadType, payload));
        msg.set_signature(sig.data(), sig.size());
        CHECK(open_peer_record(serialize(msg)).error() == Errc::peer_id_mismatch);
    }
    SECTION("signed for another domain") {
        const Bytes payload = encode_peer_record(record_for(key, 5));
        auto msg = parse_envelope(good);
        const auto sig = key.sign(
            envelope_signing_buffer("libp2p-routing-state", kPeerRecordPayloadType, payload));
        msg.set_signature(sig.data(), sig.size());
        CHECK(open_peer_record(serialize(msg)).error() == Errc::bad_signature);
    }
}

TEST_CASE("malformed envelopes give errors", "[peer_record]") {
    CHECK(open_peer_record(Bytes{}).error() == Errc::bad_record_type);
    CHECK(open_peer_record(Bytes{0x0a, 0x05, 0x01}).error() == Errc::protocol_error);
    CHECK(open_peer_record(Bytes(kMaxEnvelopeSize + 1, 0)).error() == Errc::message_too_large);
    const auto key = key_from(3);
    const Bytes good = seal_peer_record(record_for(key, 5), key).value();
    for (std::size_t n = 0; n < good.size(); ++n)
        CHECK_FALSE(open_peer_record(ByteSpan(good.data(), n)));

    // A well-signed payload that is not a PeerRecord.
    const Bytes junk{0xff, 0xff, 0xff};
    auto msg = parse_envelope(good);
    msg.set_payload(junk.data(), junk.size());
    const auto sig =
        key.sign(envelope_signing_buffer(kPeerRecordDomain, kPeerRecordPayloadType, junk));
    msg.set_signature(sig.data(), sig.size());
    CHECK(open_peer_record(serialize(msg)).error() == Errc::protocol_error);
}

TEST_CASE("the record store keeps the newest record per peer within its bound", "[peer_record]") {
    PeerRecordStore store(2);
    const auto a = key_from(1);
    const auto b = key_from(2);
    const auto c = key_from(3);
    const auto id = [](const crypto::PrivateKey& k) {
        return crypto::PeerId::from_public_key(k.public_key());
    };
    const Bytes a5 = seal_peer_record(record_for(a, 5), a).value();
    REQUIRE(store.add(a5));
    CHECK(store.add(seal_peer_record(record_for(a, 5), a).value()).error() == Errc::stale_record);
    CHECK(store.add(seal_peer_record(record_for(a, 4), a).value()).error() == Errc::stale_record);
    CHECK(*store.envelope(id(a)) == a5);
    const Bytes a6 = seal_peer_record(record_for(a, 6), a).value();
    REQUIRE(store.add(a6));
    CHECK(*store.envelope(id(a)) == a6);

    CHECK(store.add(seal_peer_record(record_for(b, 1), b).value(), id(c)).error() ==
          Errc::peer_id_mismatch);
    REQUIRE(store.add(seal_peer_record(record_for(b, 1), b).value(), id(b)));
    REQUIRE(store.add(seal_peer_record(record_for(c, 1), c).value()));
    CHECK(store.size() == 2);
    CHECK(store.envelope(id(a)) == nullptr);  // stored first, evicted first
    CHECK(store.envelope(id(b)) != nullptr);
    CHECK(store.envelope(id(c)) != nullptr);
}
