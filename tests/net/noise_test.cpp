#include <catch2/catch.hpp>

#include <memory>

#include "crypto/hash.hpp"
#include "net/error.hpp"
#include "net/noise.hpp"
#include "net/noise_payload.pb.h"

using namespace swarmd;
using namespace swarmd::net;

namespace {

crypto::PrivateKey key_from(std::uint8_t fill) {
    return crypto::PrivateKey::from_seed(Bytes(32, fill));
}

std::shared_ptr<const NoiseIdentity> identity(std::uint8_t fill) {
    return std::make_shared<NoiseIdentity>(key_from(fill),
                                           crypto::DhKeyPair::from_secret(Bytes(32, fill + 100)));
}

// Delivers `data` in chunks of `chunk` bytes, collecting the output.
Result<NoiseStep> feed_chunked(NoiseHandshake& hs, ByteSpan data, std::size_t chunk) {
    NoiseStep total;
    for (std::size_t i = 0; i < data.size(); i += chunk) {
        auto step = hs.feed(data.subspan(i, std::min(chunk, data.size() - i)));
        if (!step) return step.error();
        append(total.output, step.value().output);
        total.done = step.value().done;
    }
    return total;
}

struct Pair {
    NoiseHandshake initiator;
    NoiseHandshake responder;
};

Pair make_pair(std::optional<crypto::PeerId> expected = std::nullopt) {
    return {NoiseHandshake::initiator(identity(1), std::move(expected)),
            NoiseHandshake::responder(identity(2))};
}

// A second, independent responder written from the Noise spec with the crypto primitives, so
// tests can make it send payloads our own code never would.
class ScriptedResponder {
  public:
    ScriptedResponder() {
        const std::string_view name = "Noise_XX_25519_ChaChaPoly_SHA256";
        std::copy(name.begin(), name.end(), m_h.begin());
        m_ck = m_h;
        mix_hash({});
    }

    // Consumes framed msg1, returns framed msg2 carrying `payload` and static key `s`.
    Bytes msg2(ByteSpan framed_msg1, const crypto::DhKeyPair& s, const Bytes& payload) {
        ByteSpan msg1 = framed_msg1.subspan(2);
        std::copy_n(msg1.begin(), 32, m_re.begin());
        mix_hash(m_re);
        mix_hash(msg1.subspan(32));
        Bytes body;
        append(body, m_e.public_key());
        mix_hash(m_e.public_key());
        mix_key(m_e.dh(m_re).value());
        encrypt_and_hash(s.public_key(), body);
        mix_key(s.dh(m_re).value());
        encrypt_and_hash(payload, body);
        Bytes out{static_cast<std::uint8_t>(body.size() >> 8),
                  static_cast<std::uint8_t>(body.size())};
        append(out, body);
        return out;
    }

    static Bytes payload(const crypto::PrivateKey& id, const crypto::DhPublic& signed_key,
                         std::vector<std::string> muxers = {}) {
        pb::NoiseHandshakePayload msg;
        Bytes key = id.public_key().to_protobuf();
        Bytes to_sign = Bytes(as_bytes("noise-libp2p-static-key:").begin(),
                              as_bytes("noise-libp2p-static-key:").end());
        append(to_sign, signed_key);
        auto sig = id.sign(to_sign);
        msg.set_identity_key(key.data(), key.size());
        msg.set_identity_sig(sig.data(), sig.size());
        for (auto& m : muxers) msg.mutable_extensions()->add_stream_muxers(m);
        std::string s = msg.SerializeAsString();
        return Bytes(s.begin(), s.end());
    }

  private:
    void mix_hash(ByteSpan d) { m_h = crypto::Sha256().update(m_h).update(d).finish(); }
    void mix_key(const crypto::SymmetricKey& ikm) {
        auto [ck, k] = crypto::hkdf2(m_ck, ikm);
        m_ck = ck;
        std::copy(k.begin(), k.end(), m_k.begin());
        m_n = 0;
    }
    void encrypt_and_hash(ByteSpan p, Bytes& out) {
        const std::size_t off = out.size();
        crypto::aead_encrypt(m_k, m_n++, m_h, p, out);
        mix_hash(ByteSpan(out).subspan(off));
    }

    crypto::Digest m_h{}, m_ck{};
    crypto::SymmetricKey m_k{};
    std::uint64_t m_n = 0;
    crypto::DhPublic m_re{};
    crypto::DhKeyPair m_e = crypto::DhKeyPair::generate();
};

}  // namespace

TEST_CASE("noise handshake completes in memory, fed in every chunk size", "[net][noise]") {
    const auto expected = crypto::PeerId::from_public_key(key_from(2).public_key());
    for (std::size_t chunk = 1; chunk <= 220; chunk += (chunk < 40 ? 1 : 17)) {
        INFO("chunk " << chunk);
        auto [ini, resp] = make_pair(expected);
        Bytes msg1 = ini.start();
        CHECK(msg1.size() == 2 + 32);
        CHECK(ini.start().empty());
        CHECK(resp.start().empty());

        auto r1 = feed_chunked(resp, msg1, chunk);
        REQUIRE(r1);
        CHECK(r1.value().output.size() == 2 + 200);  // 32 + 48 + (104 + 16)
        CHECK_FALSE(r1.value().done);

        auto i1 = feed_chunked(ini, r1.value().output, chunk);
        REQUIRE(i1);
        CHECK(i1.value().done);
        CHECK(i1.value().output.size() == 2 + 168);  // 48 + (104 + 16)

        auto r2 = feed_chunked(resp, i1.value().output, chunk);
        REQUIRE(r2);
        CHECK(r2.value().done);
        CHECK(r2.value().output.empty());

        CHECK(ini.remote().peer_id == expected);
        CHECK(resp.remote().peer_id == crypto::PeerId::from_public_key(key_from(1).public_key()));
        CHECK(ini.remote().stream_muxers.empty());

        auto a = ini.into_session();
        auto b = resp.into_session();
        CHECK_THROWS(ini.into_session());
        Bytes wire, got;
        REQUIRE(a.encrypt(as_bytes("hello from the dialer"), wire));
        for (std::size_t i = 0; i < wire.size(); i += chunk) {
            REQUIRE(b.decrypt(ByteSpan(wire).subspan(i, std::min(chunk, wire.size() - i)), got));
        }
        CHECK(as_string_view(got) == "hello from the dialer");
        CHECK(b.buffered() == 0);
        wire.clear();
        got.clear();
        REQUIRE(b.encrypt(as_bytes("and back"), wire));
        REQUIRE(a.decrypt(wire, got));
        CHECK(as_string_view(got) == "and back");
    }
}

TEST_CASE("noise transport splits large writes and decodes any chunking", "[net][noise]") {
    auto [ini, resp] = make_pair();
    auto m2 = resp.feed(ini.start()).value().output;
    auto m3 = ini.feed(m2).value().output;
    REQUIRE(resp.feed(m3).value().done);
    auto a = ini.into_session();
    auto b = resp.into_session();

    Bytes plain(200'000);
    for (std::size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<std::uint8_t>(i * 7);
    Bytes wire;
    REQUIRE(a.encrypt(plain, wire));
    // 4 frames: 3 full (65519 plaintext) and the rest.
    CHECK(wire.size() == plain.size() + 4 * 18);
    CHECK(wire[0] == 0xff);
    CHECK(wire[1] == 0xff);
    Bytes first;
    REQUIRE(b.decrypt(wire, first));
    CHECK(first == plain);

    for (std::size_t chunk : {1u, 2u, 3u, 17u, 1000u, 65537u, 65538u, 300'000u}) {
        INFO("chunk " << chunk);
        Bytes w2;
        REQUIRE(a.encrypt(plain, w2));
        Bytes got;
        for (std::size_t i = 0; i < w2.size(); i += chunk) {
            REQUIRE(b.decrypt(ByteSpan(w2).subspan(i, std::min(chunk, w2.size() - i)), got));
            CHECK(b.buffered() <= 65537);
        }
        CHECK(got == plain);
    }
    // A replayed frame carries a stale nonce.
    Bytes got;
    CHECK(b.decrypt(wire, got).error() == Errc::bad_aead_tag);
}

TEST_CASE("noise transport rejects tampered and truncated frames", "[net][noise]") {
    auto [ini, resp] = make_pair();
    auto m2 = resp.feed(ini.start()).value().output;
    auto m3 = ini.feed(m2).value().output;
    REQUIRE(resp.feed(m3).value().done);
    auto a = ini.into_session();
    auto b = resp.into_session();

    SECTION("flipped ciphertext bit") {
        Bytes wire, got;
        REQUIRE(a.encrypt(as_bytes("payload"), wire));
        wire[4] ^= 0x01;
        CHECK(b.decrypt(wire, got).error() == Errc::bad_aead_tag);
        CHECK(got.empty());
        // The session stays failed.
        Bytes again;
        REQUIRE(a.encrypt(as_bytes("x"), again));
        CHECK(b.decrypt(again, got).error() == Errc::bad_aead_tag);
    }
    SECTION("frame shorter than a tag") {
        Bytes got;
        CHECK(b.decrypt(Bytes{0x00, 0x05, 1, 2, 3, 4, 5}, got).error() == Errc::truncated_message);
    }
    SECTION("frames from the wrong direction") {
        Bytes wire, got;
        REQUIRE(b.encrypt(as_bytes("reflected"), wire));
        CHECK(b.decrypt(wire, got).error() == Errc::bad_aead_tag);
    }
    SECTION("an incomplete frame is held, not failed") {
        Bytes wire, got;
        REQUIRE(a.encrypt(as_bytes("partial"), wire));
        wire.pop_back();
        REQUIRE(b.decrypt(wire, got));
        CHECK(got.empty());
        CHECK(b.buffered() == wire.size());
    }
}

TEST_CASE("noise handshake failures carry typed errors", "[net][noise]") {
    SECTION("expected peer id mismatch") {
        auto other = crypto::PeerId::from_public_key(key_from(9).public_key());
        auto [ini, resp] = make_pair(other);
        auto m2 = resp.feed(ini.start()).value().output;
        CHECK(ini.feed(m2).error() == Errc::peer_id_mismatch);
        CHECK(ini.feed(m2).error() == Errc::invalid_state);
    }
    SECTION("tampered msg2") {
        auto [ini, resp] = make_pair();
        auto m2 = resp.feed(ini.start()).value().output;
        m2[2 + 32 + 5] ^= 0x80;  // inside the encrypted static key
        CHECK(ini.feed(m2).error() == Errc::bad_aead_tag);
    }
    SECTION("tampered msg3") {
        auto [ini, resp] = make_pair();
        auto m2 = resp.feed(ini.start()).value().output;
        auto m3 = ini.feed(m2).value().output;
        m3.back() ^= 0x01;
        CHECK(resp.feed(m3).error() == Errc::bad_aead_tag);
    }
    SECTION("short messages") {
        auto resp = NoiseHandshake::responder(identity(2));
        CHECK(resp.feed(Bytes{0x00, 0x03, 1, 2, 3}).error() == Errc::bad_handshake_message);
        auto ini = NoiseHandshake::initiator(identity(1));
        ini.start();
        Bytes m2(2 + 60, 0x11);
        m2[0] = 0;
        m2[1] = 60;
        CHECK(ini.feed(m2).error() == Errc::bad_handshake_message);
    }
    SECTION("low-order ephemeral key") {
        auto resp = NoiseHandshake::responder(identity(2));
        Bytes m1(2 + 32, 0);
        m1[1] = 32;
        CHECK(resp.feed(m1).error() == Errc::low_order_key);
    }
    SECTION("responder signature over a different static key") {
        auto ini = NoiseHandshake::initiator(identity(1));
        ScriptedResponder scripted;
        auto s = crypto::DhKeyPair::generate();
        auto other = crypto::DhKeyPair::generate();
        auto key = key_from(5);
        auto m2 =
            scripted.msg2(ini.start(), s, ScriptedResponder::payload(key, other.public_key()));
        CHECK(ini.feed(m2).error() == Errc::bad_signature);
    }
    SECTION("payload without a key") {
        auto ini = NoiseHandshake::initiator(identity(1));
        ScriptedResponder scripted;
        auto s = crypto::DhKeyPair::generate();
        auto m2 = scripted.msg2(ini.start(), s, Bytes{});
        CHECK(ini.feed(m2).error() == Errc::bad_handshake_payload);
    }
    SECTION("payload with a Secp256k1 key") {
        auto ini = NoiseHandshake::initiator(identity(1));
        ScriptedResponder scripted;
        auto s = crypto::DhKeyPair::generate();
        pb::NoiseHandshakePayload p;
        p.set_identity_key(std::string("\x08\x02\x12\x04", 4) + "abcd");
        p.set_identity_sig(std::string(64, 'x'));
        std::string ser = p.SerializeAsString();
        auto m2 = scripted.msg2(ini.start(), s, Bytes(ser.begin(), ser.end()));
        CHECK(ini.feed(m2).error() == Errc::unsupported_key_type);
    }
    SECTION("payload with malformed RSA DER") {
        auto ini = NoiseHandshake::initiator(identity(1));
        ScriptedResponder scripted;
        auto s = crypto::DhKeyPair::generate();
        pb::NoiseHandshakePayload p;
        p.set_identity_key(std::string("\x08\x00\x12\x04", 4) + "abcd");
        p.set_identity_sig(std::string(256, 'x'));
        std::string ser = p.SerializeAsString();
        auto m2 = scripted.msg2(ini.start(), s, Bytes(ser.begin(), ser.end()));
        CHECK(ini.feed(m2).error() == Errc::bad_handshake_payload);
    }
    SECTION("garbage payload") {
        auto ini = NoiseHandshake::initiator(identity(1));
        ScriptedResponder scripted;
        auto s = crypto::DhKeyPair::generate();
        auto m2 = scripted.msg2(ini.start(), s, Bytes{0xff, 0xff, 0xff});
        CHECK(ini.feed(m2).error() == Errc::bad_handshake_payload);
    }
}

TEST_CASE("noise initiator accepts and ignores responder extensions", "[net][noise]") {
    // js-libp2p-noise lists its muxers in msg2 (a 216-byte message).
    auto ini = NoiseHandshake::initiator(identity(1));
    ScriptedResponder scripted;
    auto s = crypto::DhKeyPair::generate();
    auto key = key_from(7);
    auto m2 = scripted.msg2(ini.start(), s,
                            ScriptedResponder::payload(key, s.public_key(), {"/yamux/1.0.0"}));
    CHECK(m2.size() == 2 + 216);
    auto step = ini.feed(m2);
    REQUIRE(step);
    CHECK(step.value().done);
    CHECK(ini.remote().peer_id == crypto::PeerId::from_public_key(key.public_key()));
    CHECK(ini.remote().stream_muxers == std::vector<std::string>{"/yamux/1.0.0"});
    // msg3 carries no extensions: its size is fixed.
    CHECK(step.value().output.size() == 2 + 168);
}

TEST_CASE("noise leftover after the last handshake message reaches the session", "[net][noise]") {
    auto [ini, resp] = make_pair();
    auto m2 = resp.feed(ini.start()).value().output;
    auto m3 = ini.feed(m2).value().output;
    auto a = ini.into_session();
    Bytes wire = m3;
    REQUIRE(a.encrypt(as_bytes("first transport frame"), wire));
    auto step = resp.feed(wire);
    REQUIRE(step);
    REQUIRE(step.value().done);
    auto b = resp.into_session();
    Bytes got;
    REQUIRE(b.decrypt(resp.take_leftover(), got));
    CHECK(as_string_view(got) == "first transport frame");
}
