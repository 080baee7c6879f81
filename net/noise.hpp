#pragma once
// Noise_XX_25519_ChaChaPoly_SHA256 as libp2p's `/noise` uses it, sans-I/O.
//
//   -> e                      (initiator, empty payload)
//   <- e, ee, s, es           (responder, payload = its identity key and signature)
//   -> s, se                  (initiator, payload = its identity key and signature)
//
// Every message, in the handshake and after it, is framed as u16 big-endian length || bytes.
// The payload proves that the sender's libp2p identity key owns the Noise static key: it signs
// "noise-libp2p-static-key:" || static X25519 public key. No extensions are sent; the ones a
// responder sends (js lists stream_muxers) are read and otherwise ignored, so the muxer is
// always negotiated by multistream-select afterwards.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/noise_primitives.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {

inline constexpr std::string_view kNoiseProtocolId = "/noise";
inline constexpr std::size_t kNoiseMaxMessageSize = 65535;
inline constexpr std::size_t kNoiseMaxPlaintext = kNoiseMaxMessageSize - crypto::kAeadTagSize;

// The local side of the handshake: a Noise static key and the signed payload that binds it to
// the libp2p identity. Build one per process (or per connection) and share it.
class NoiseIdentity {
  public:
    // With a fresh static key.
    explicit NoiseIdentity(const crypto::PrivateKey& identity);
    NoiseIdentity(const crypto::PrivateKey& identity, crypto::DhKeyPair static_key);

    const crypto::PeerId& peer_id() const noexcept { return m_peer_id; }
    const crypto::DhKeyPair& static_key() const noexcept { return m_static; }
    // The serialized NoiseHandshakePayload (identity_key, identity_sig; no extensions).
    const Bytes& payload() const noexcept { return m_payload; }

  private:
    crypto::DhKeyPair m_static;
    crypto::PeerId m_peer_id;
    Bytes m_payload;
};

// What the handshake learned about the remote.
struct NoiseRemote {
    crypto::PublicKey public_key;
    crypto::PeerId peer_id;
    // Muxers listed in the remote's extensions; informational only.
    std::vector<std::string> stream_muxers;
};

// Checks a decrypted handshake payload: the identity key parses (Ed25519 or RSA), its signature
// covers `remote_static`, and its peer id equals `expected` when given.
Result<NoiseRemote> noise_verify_payload(ByteSpan payload, const crypto::DhPublic& remote_static,
                                         const std::optional<crypto::PeerId>& expected);

// Encrypted transport after the handshake: frames of u16 BE length || ciphertext || tag, one
// 64-bit little-endian nonce per direction, plaintext split at 65519 bytes.
class NoiseSession {
  public:
    NoiseSession(const crypto::SymmetricKey& send_key, const crypto::SymmetricKey& recv_key);
    NoiseSession(const NoiseSession&) = delete;
    NoiseSession& operator=(const NoiseSession&) = delete;
    NoiseSession(NoiseSession&&) noexcept = default;
    NoiseSession& operator=(NoiseSession&&) noexcept = default;
    ~NoiseSession();

    // Appends the framed ciphertext of `plaintext` to `out`.
    Result<void> encrypt(ByteSpan plaintext, Bytes& out);
    // Consumes transport bytes in any chunking and appends the plaintext of every complete
    // frame to `out`. After an error the session stays failed.
    Result<void> decrypt(ByteSpan in, Bytes& out);
    // Bytes of an incomplete frame held until the rest arrives (at most 65537).
    std::size_t buffered() const noexcept { return m_pending.size(); }

  private:
    Result<void> open_frame(ByteSpan frame, Bytes& out);

    crypto::SymmetricKey m_send_key;
    crypto::SymmetricKey m_recv_key;
    std::uint64_t m_send_nonce = 0;
    std::uint64_t m_recv_nonce = 0;
    Bytes m_pending;
    std::error_code m_failed;
};

struct NoiseStep {
    Bytes output;  // framed handshake message to write, if any
    bool done = false;
};

class NoiseHandshake {
  public:
    enum class Role { initiator, responder };

    // `expected_remote`: the dialed peer id; a different remote fails with peer_id_mismatch.
    // `ephemeral` is generated when absent (tests and fuzzers pass a fixed one).
    static NoiseHandshake initiator(std::shared_ptr<const NoiseIdentity> local,
                                    std::optional<crypto::PeerId> expected_remote = std::nullopt,
                                    std::optional<crypto::DhKeyPair> ephemeral = std::nullopt);
    static NoiseHandshake responder(std::shared_ptr<const NoiseIdentity> local,
                                    std::optional<crypto::DhKeyPair> ephemeral = std::nullopt);

    NoiseHandshake(NoiseHandshake&&) noexcept;
    NoiseHandshake& operator=(NoiseHandshake&&) noexcept;
    ~NoiseHandshake();

    Role role() const noexcept;
    // Initiator: the framed first message. Responder: nothing.
    Bytes start();
    // Consumes handshake bytes in any chunking.
    Result<NoiseStep> feed(ByteSpan in);

    bool done() const noexcept;
    // Valid once done().
    const NoiseRemote& remote() const;
    // The transport session; call once, after done().
    NoiseSession into_session();
    // Bytes received after the last handshake message: the first transport frames.
    Bytes take_leftover();

  private:
    struct State;
    explicit NoiseHandshake(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

}  // namespace swarmd::net
