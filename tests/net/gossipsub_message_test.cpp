#include <catch2/catch.hpp>

#include "crypto/peer_id.hpp"
#include "net/gossipsub_error.hpp"
#include "net/gossipsub_message.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;

namespace {

crypto::PrivateKey key_from(std::uint8_t b) { return crypto::PrivateKey::from_seed(Bytes(32, b)); }

}  // namespace

TEST_CASE("seqno is 8 bytes big-endian", "[gossipsub][message]") {
    const std::string s = encode_seqno(0x0102030405060708ULL);
    CHECK(s == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    CHECK(decode_seqno(s) == 0x0102030405060708ULL);
    CHECK_FALSE(decode_seqno("1234567"));
}

TEST_CASE("signed messages verify and the payload matches protobuf", "[gossipsub][message]") {
    const auto key = key_from(1);
    const auto id = crypto::PeerId::from_public_key(key.public_key());
    const Bytes data{'h', 'i'};
    auto m = make_signed_message(key, id, "topic", data, 42, false);

    // The signed bytes are the prefix plus protobuf(Message{from, data, seqno, topic}).
    pb::Message unsigned_copy = m;
    unsigned_copy.clear_signature();
    unsigned_copy.clear_key();
    const Bytes payload = signed_payload(m);
    const std::string expected = std::string(kSignaturePrefix) + unsigned_copy.SerializeAsString();
    CHECK(std::string(payload.begin(), payload.end()) == expected);

    auto author = verify_message(m);
    REQUIRE(author);
    CHECK(author.value() == id);
    CHECK(message_id(m) == std::string(as_string_view(id.bytes())) + encode_seqno(42));

    SECTION("tampered data") {
        m.set_data("ho");
        CHECK(verify_message(m).error() == make_error_code(Errc::invalid_signature));
    }
    SECTION("tampered topic") {
        m.set_topic("other");
        CHECK(verify_message(m).error() == make_error_code(Errc::invalid_signature));
    }
    SECTION("another author") {
        const auto other = crypto::PeerId::from_public_key(key_from(2).public_key());
        m.set_from(std::string(as_string_view(other.bytes())));
        CHECK(verify_message(m).error() == make_error_code(Errc::invalid_signature));
    }
    SECTION("missing signature") {
        m.clear_signature();
        CHECK(verify_message(m).error() == make_error_code(Errc::missing_signature));
    }
    SECTION("short seqno") {
        m.set_seqno("1234");
        CHECK(verify_message(m).error() == make_error_code(Errc::bad_seqno));
    }
    SECTION("garbage author") {
        m.set_from("not a peer id");
        CHECK(verify_message(m).error() == make_error_code(Errc::bad_author));
    }
}

TEST_CASE("the key field is checked against the author", "[gossipsub][message]") {
    const auto key = key_from(3);
    const auto id = crypto::PeerId::from_public_key(key.public_key());
    auto m = make_signed_message(key, id, "t", Bytes{1}, 1, true);
    REQUIRE(m.has_key());
    CHECK(verify_message(m));
    const Bytes other = key_from(4).public_key().to_protobuf();
    m.set_key(std::string(as_string_view(other)));
    CHECK(verify_message(m).error() == make_error_code(Errc::key_mismatch));
    m.set_key("junk");
    CHECK(verify_message(m).error() == make_error_code(Errc::key_mismatch));
}

TEST_CASE("an empty data field stays present in the signed payload", "[gossipsub][message]") {
    const auto key = key_from(5);
    const auto id = crypto::PeerId::from_public_key(key.public_key());
    auto m = make_signed_message(key, id, "t", Bytes{}, 7, false);
    REQUIRE(m.has_data());
    CHECK(verify_message(m));
    m.clear_data();  // absent is a different encoding, so the signature no longer matches
    CHECK_FALSE(verify_message(m));
}
