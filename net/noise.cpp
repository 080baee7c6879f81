#include "net/noise.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/endian.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"
#include "net/error.hpp"
#include "net/noise_payload.pb.h"

namespace swarmd::net {
namespace {

constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";
static_assert(kProtocolName.size() == 32, "h = name without padding");
constexpr std::string_view kSignaturePrefix = "noise-libp2p-static-key:";
constexpr std::size_t kLengthPrefix = 2;
constexpr std::uint64_t kMaxNonce = ~std::uint64_t{0};

Bytes signed_static_key(const crypto::DhPublic& static_public) {
    Bytes msg(kSignaturePrefix.begin(), kSignaturePrefix.end());
    append(msg, static_public);
    return msg;
}

void append_frame_header(Bytes& out, std::size_t size) { append_be(out, size, 2); }

std::size_t frame_size(ByteSpan header) { return load_be<std::uint16_t>(header.data()); }

// Noise's SymmetricState and CipherState, with the handshake hash as AEAD data.
class SymmetricState {
  public:
    SymmetricState() {
        std::copy(kProtocolName.begin(), kProtocolName.end(), m_h.begin());
        m_ck = m_h;
        mix_hash({});  // empty prologue
    }
    ~SymmetricState() {
        crypto::secure_zero(m_ck);
        crypto::secure_zero(m_k);
    }

    void mix_hash(ByteSpan data) { m_h = crypto::Sha256().update(m_h).update(data).finish(); }

    void mix_key(const crypto::SymmetricKey& ikm) {
        auto [ck, k] = crypto::hkdf2(m_ck, ikm);
        m_ck = ck;
        std::copy(k.begin(), k.end(), m_k.begin());
        crypto::secure_zero(ck);
        crypto::secure_zero(k);
        m_has_key = true;
        m_n = 0;
    }

    void encrypt_and_hash(ByteSpan plaintext, Bytes& out) {
        const std::size_t offset = out.size();
        if (m_has_key) {
            crypto::aead_encrypt(m_k, m_n++, m_h, plaintext, out);
        } else {
            append(out, plaintext);
        }
        mix_hash(ByteSpan(out).subspan(offset));
    }

    Result<void> decrypt_and_hash(ByteSpan ciphertext, Bytes& out) {
        if (m_has_key) {
            if (!crypto::aead_decrypt(m_k, m_n, m_h, ciphertext, out)) return Errc::bad_aead_tag;
            ++m_n;
        } else {
            append(out, ciphertext);
        }
        mix_hash(ciphertext);
        return success();
    }

    std::array<crypto::Digest, 2> split() const { return crypto::hkdf2(m_ck, {}); }

  private:
    crypto::Digest m_h{};
    crypto::Digest m_ck{};
    crypto::SymmetricKey m_k{};
    bool m_has_key = false;
    std::uint64_t m_n = 0;
};

Result<crypto::SymmetricKey> dh(const crypto::DhKeyPair& local, ByteSpan remote) {
    auto shared = local.dh(remote);
    if (!shared) return Errc::low_order_key;
    return shared.value();
}

}  // namespace

Result<NoiseRemote> noise_verify_payload(ByteSpan payload, const crypto::DhPublic& remote_static,
                                         const std::optional<crypto::PeerId>& expected) {
    pb::NoiseHandshakePayload msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
        !msg.has_identity_key() || !msg.has_identity_sig()) {
        return Errc::bad_handshake_payload;
    }
    auto key = crypto::PublicKey::from_protobuf(as_bytes(msg.identity_key()));
    if (!key) {
        return key.error() == crypto::Errc::unsupported_key_type ? Errc::unsupported_key_type
                                                                 : Errc::bad_handshake_payload;
    }
    if (!key.value().verify(signed_static_key(remote_static), as_bytes(msg.identity_sig()))) {
        return Errc::bad_signature;
    }
    NoiseRemote remote{key.value(), crypto::PeerId::from_public_key(key.value()), {}};
    if (expected && *expected != remote.peer_id) return Errc::peer_id_mismatch;
    if (msg.has_extensions()) {
        for (const auto& m : msg.extensions().stream_muxers()) remote.stream_muxers.push_back(m);
    }
    return remote;
}

// ---------------------------------------------------------------------------------------------

NoiseIdentity::NoiseIdentity(const crypto::PrivateKey& identity)
    : NoiseIdentity(identity, crypto::DhKeyPair::generate()) {}

NoiseIdentity::NoiseIdentity(const crypto::PrivateKey& identity, crypto::DhKeyPair static_key)
    : m_static(std::move(static_key)),
      m_peer_id(crypto::PeerId::from_public_key(identity.public_key())) {
    pb::NoiseHandshakePayload msg;
    const Bytes key = identity.public_key().to_protobuf();
    const auto sig = identity.sign(signed_static_key(m_static.public_key()));
    msg.set_identity_key(key.data(), key.size());
    msg.set_identity_sig(sig.data(), sig.size());
    m_payload.resize(msg.ByteSizeLong());
    msg.SerializeToArray(m_payload.data(), static_cast<int>(m_payload.size()));
}

// ---------------------------------------------------------------------------------------------

NoiseSession::NoiseSession(const crypto::SymmetricKey& send_key,
                           const crypto::SymmetricKey& recv_key)
    : m_send_key(send_key), m_recv_key(recv_key) {}

NoiseSession::~NoiseSession() {
    crypto::secure_zero(m_send_key);
    crypto::secure_zero(m_recv_key);
}

Result<void> NoiseSession::encrypt(ByteSpan plaintext, Bytes& out) {
    if (m_failed) return m_failed;
    const std::size_t frames = (plaintext.size() + kNoiseMaxPlaintext - 1) / kNoiseMaxPlaintext;
    if (kMaxNonce - m_send_nonce < frames) return Errc::nonce_exhausted;
    out.reserve(out.size() + plaintext.size() + frames * (kLengthPrefix + crypto::kAeadTagSize));
    while (!plaintext.empty()) {
        const std::size_t n = std::min(plaintext.size(), kNoiseMaxPlaintext);
        append_frame_header(out, n + crypto::kAeadTagSize);
        crypto::aead_encrypt(m_send_key, m_send_nonce++, {}, plaintext.first(n), out);
        plaintext = plaintext.subspan(n);
    }
    return success();
}

Result<void> NoiseSession::open_frame(ByteSpan frame, Bytes& out) {
    if (frame.size() < crypto::kAeadTagSize) {
        m_failed = Errc::truncated_message;
        return m_failed;
    }
    if (m_recv_nonce == kMaxNonce) {
        m_failed = Errc::nonce_exhausted;
        return m_failed;
    }
    if (!crypto::aead_decrypt(m_recv_key, m_recv_nonce, {}, frame, out)) {
        m_failed = Errc::bad_aead_tag;
        return m_failed;
    }
    ++m_recv_nonce;
    return success();
}

Result<void> NoiseSession::decrypt(ByteSpan in, Bytes& out) {
    if (m_failed) return m_failed;
    if (!m_pending.empty()) {
        // Complete the frame started by an earlier chunk.
        if (m_pending.size() < kLengthPrefix) {
            const std::size_t n = std::min(kLengthPrefix - m_pending.size(), in.size());
            append(m_pending, in.first(n));
            in = in.subspan(n);
            if (m_pending.size() < kLengthPrefix) return success();
        }
        const std::size_t total = kLengthPrefix + frame_size(m_pending);
        const std::size_t n = std::min(total - m_pending.size(), in.size());
        append(m_pending, in.first(n));
        in = in.subspan(n);
        if (m_pending.size() < total) return success();
        BOOST_OUTCOME_TRYV(open_frame(ByteSpan(m_pending).subspan(kLengthPrefix), out));
        m_pending.clear();
    }
    // Whole frames straight from the input, without copying.
    while (in.size() >= kLengthPrefix) {
        const std::size_t total = kLengthPrefix + frame_size(in);
        if (in.size() < total) break;
        BOOST_OUTCOME_TRYV(open_frame(in.subspan(kLengthPrefix, total - kLengthPrefix), out));
        in = in.subspan(total);
    }
    m_pending.assign(in.begin(), in.end());
    return success();
}

// ---------------------------------------------------------------------------------------------

struct NoiseHandshake::State {
    enum class Phase { idle, await_msg1, await_msg2, await_msg3, done, failed };

    Role role;
    std::shared_ptr<const NoiseIdentity> local;
    std::optional<crypto::PeerId> expected;
    crypto::DhKeyPair e;
    SymmetricState sym;
    Phase phase = Phase::idle;
    crypto::DhPublic re{};
    std::optional<NoiseRemote> remote;
    Bytes buffer;  // unconsumed input: partial frame or leftover after the handshake
    bool session_taken = false;

    State(Role r, std::shared_ptr<const NoiseIdentity> l, std::optional<crypto::PeerId> x,
          crypto::DhKeyPair eph)
        : role(r), local(std::move(l)), expected(std::move(x)), e(std::move(eph)) {
        if (!local) throw std::invalid_argument("noise handshake needs a local identity");
        phase = role == Role::initiator ? Phase::idle : Phase::await_msg1;
    }

    Result<void> read_msg1(ByteSpan msg) {
        if (msg.size() < crypto::kDhSize) return Errc::bad_handshake_message;
        std::copy_n(msg.begin(), crypto::kDhSize, re.begin());
        sym.mix_hash(re);
        Bytes ignored;  // the initiator's first payload carries nothing we use
        return sym.decrypt_and_hash(msg.subspan(crypto::kDhSize), ignored);
    }

    Result<void> write_msg2(Bytes& out) {
        const std::size_t header = out.size();
        out.resize(header + kLengthPrefix);
        append(out, e.public_key());
        sym.mix_hash(e.public_key());
        BOOST_OUTCOME_TRY(ee, dh(e, re));
        sym.mix_key(ee);
        sym.encrypt_and_hash(local->static_key().public_key(), out);
        BOOST_OUTCOME_TRY(es, dh(local->static_key(), re));
        sym.mix_key(es);
        sym.encrypt_and_hash(local->payload(), out);
        finish_frame(out, header);
        return success();
    }

    // Reads the remote static key (48 bytes encrypted) and the payload after it, running
    // `mix_dh` between the two as the pattern requires.
    template <class MixDh>
    Result<void> read_static_and_payload(ByteSpan msg, MixDh&& mix_dh) {
        if (msg.size() < crypto::kDhSize + 2 * crypto::kAeadTagSize) {
            return Errc::bad_handshake_message;
        }
        Bytes rs_bytes;
        BOOST_OUTCOME_TRYV(
            sym.decrypt_and_hash(msg.first(crypto::kDhSize + crypto::kAeadTagSize), rs_bytes));
        crypto::DhPublic rs;
        std::copy_n(rs_bytes.begin(), crypto::kDhSize, rs.begin());
        BOOST_OUTCOME_TRYV(mix_dh(rs));
        Bytes payload;
        BOOST_OUTCOME_TRYV(
            sym.decrypt_and_hash(msg.subspan(crypto::kDhSize + crypto::kAeadTagSize), payload));
        BOOST_OUTCOME_TRY(r, noise_verify_payload(payload, rs, expected));
        remote = std::move(r);
        return success();
    }

    Result<void> read_msg2(ByteSpan msg) {
        if (msg.size() < crypto::kDhSize) return Errc::bad_handshake_message;
        std::copy_n(msg.begin(), crypto::kDhSize, re.begin());
        sym.mix_hash(re);
        BOOST_OUTCOME_TRY(ee, dh(e, re));
        sym.mix_key(ee);
        return read_static_and_payload(msg.subspan(crypto::kDhSize),
                                       [this](const crypto::DhPublic& rs) -> Result<void> {
                                           BOOST_OUTCOME_TRY(es, dh(e, rs));
                                           sym.mix_key(es);
                                           return success();
                                       });
    }

    Result<void> write_msg3(Bytes& out) {
        const std::size_t header = out.size();
        out.resize(header + kLengthPrefix);
        sym.encrypt_and_hash(local->static_key().public_key(), out);
        BOOST_OUTCOME_TRY(se, dh(local->static_key(), re));
        sym.mix_key(se);
        sym.encrypt_and_hash(local->payload(), out);
        finish_frame(out, header);
        return success();
    }

    Result<void> read_msg3(ByteSpan msg) {
        return read_static_and_payload(msg, [this](const crypto::DhPublic& rs) -> Result<void> {
            BOOST_OUTCOME_TRY(se, dh(e, rs));
            sym.mix_key(se);
            return success();
        });
    }

    static void finish_frame(Bytes& out, std::size_t header) {
        const std::size_t size = out.size() - header - kLengthPrefix;
        store_be(&out[header], size, 2);
    }

    Result<void> on_message(ByteSpan msg, NoiseStep& step) {
        if (phase == Phase::await_msg1) {
            BOOST_OUTCOME_TRYV(read_msg1(msg));
            BOOST_OUTCOME_TRYV(write_msg2(step.output));
            phase = Phase::await_msg3;
        } else if (phase == Phase::await_msg2) {
            BOOST_OUTCOME_TRYV(read_msg2(msg));
            BOOST_OUTCOME_TRYV(write_msg3(step.output));
            phase = Phase::done;
        } else {
            BOOST_OUTCOME_TRYV(read_msg3(msg));
            phase = Phase::done;
        }
        return success();
    }
};

NoiseHandshake::NoiseHandshake(std::unique_ptr<State> state) : m_state(std::move(state)) {}
NoiseHandshake::NoiseHandshake(NoiseHandshake&&) noexcept = default;
NoiseHandshake& NoiseHandshake::operator=(NoiseHandshake&&) noexcept = default;
NoiseHandshake::~NoiseHandshake() = default;

NoiseHandshake NoiseHandshake::initiator(std::shared_ptr<const NoiseIdentity> local,
                                         std::optional<crypto::PeerId> expected_remote,
                                         std::optional<crypto::DhKeyPair> ephemeral) {
    return NoiseHandshake(
        std::make_unique<State>(Role::initiator, std::move(local), std::move(expected_remote),
                                ephemeral ? std::move(*ephemeral) : crypto::DhKeyPair::generate()));
}

NoiseHandshake NoiseHandshake::responder(std::shared_ptr<const NoiseIdentity> local,
                                         std::optional<crypto::DhKeyPair> ephemeral) {
    return NoiseHandshake(
        std::make_unique<State>(Role::responder, std::move(local), std::nullopt,
                                ephemeral ? std::move(*ephemeral) : crypto::DhKeyPair::generate()));
}

NoiseHandshake::Role NoiseHandshake::role() const noexcept { return m_state->role; }

Bytes NoiseHandshake::start() {
    Bytes out;
    if (m_state->role != Role::initiator || m_state->phase != State::Phase::idle) return out;
    append_frame_header(out, crypto::kDhSize);
    append(out, m_state->e.public_key());
    m_state->sym.mix_hash(m_state->e.public_key());
    m_state->sym.encrypt_and_hash({}, out);  // empty payload, still hashed
    m_state->phase = State::Phase::await_msg2;
    return out;
}

Result<NoiseStep> NoiseHandshake::feed(ByteSpan in) {
    State& s = *m_state;
    using Phase = State::Phase;
    if (s.phase != Phase::await_msg1 && s.phase != Phase::await_msg2 &&
        s.phase != Phase::await_msg3) {
        return Errc::invalid_state;
    }
    append(s.buffer, in);
    NoiseStep step;
    std::size_t pos = 0;
    while (s.phase != Phase::done && s.buffer.size() - pos >= kLengthPrefix) {
        const std::size_t size = frame_size(ByteSpan(s.buffer).subspan(pos));
        if (s.buffer.size() - pos - kLengthPrefix < size) break;
        auto r = s.on_message(ByteSpan(s.buffer).subspan(pos + kLengthPrefix, size), step);
        if (!r) {
            s.phase = Phase::failed;
            s.buffer.clear();
            return r.error();
        }
        pos += kLengthPrefix + size;
    }
    s.buffer.erase(s.buffer.begin(), s.buffer.begin() + static_cast<std::ptrdiff_t>(pos));
    step.done = s.phase == Phase::done;
    return step;
}

bool NoiseHandshake::done() const noexcept { return m_state->phase == State::Phase::done; }

const NoiseRemote& NoiseHandshake::remote() const {
    if (!done()) throw std::logic_error("noise handshake not finished");
    return *m_state->remote;
}

NoiseSession NoiseHandshake::into_session() {
    if (!done() || m_state->session_taken) {
        throw std::logic_error("noise session unavailable");
    }
    m_state->session_taken = true;
    auto [k1, k2] = m_state->sym.split();
    crypto::SymmetricKey send{}, recv{};
    const auto& s = m_state->role == Role::initiator ? k1 : k2;
    const auto& r = m_state->role == Role::initiator ? k2 : k1;
    std::copy(s.begin(), s.end(), send.begin());
    std::copy(r.begin(), r.end(), recv.begin());
    NoiseSession session(send, recv);
    crypto::secure_zero(k1);
    crypto::secure_zero(k2);
    crypto::secure_zero(send);
    crypto::secure_zero(recv);
    return session;
}

Bytes NoiseHandshake::take_leftover() {
    if (!done()) return {};
    return std::move(m_state->buffer);
}

}  // namespace swarmd::net
