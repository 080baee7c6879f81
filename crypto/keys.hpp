#pragma once
// Identity keys in libp2p's encodings (libp2p/specs peer-ids/peer-ids.md).
//
// Public keys: PublicKey protobuf {Type, Data} with both fields, in order, minimally encoded.
//   Ed25519 (Type 1): Data = the 32-byte key.
//   RSA (Type 0): Data = DER SubjectPublicKeyInfo; signatures are RSASSA-PKCS1-v1_5 over SHA-256.
//     Only verified (the public DHT's bootstrap peers have RSA ids); we never make RSA keys.
//     Accepted: rsaEncryption keys of kMinRsaBits..kMaxRsaBits, an odd public exponent in
//     [3, 2^31) (what go-libp2p accepts), Data of at most kMaxRsaDerSize bytes that OpenSSL
//     re-encodes to exactly the same bytes. It is parsed once, when the key is decoded.
//   Secp256k1 (2) and ECDSA (3) are refused with Errc::unsupported_key_type: no peer we need
//     uses them, and each would bring another signature format to get right.
// Private keys (ours): Ed25519 only, Data = seed(32) || public key(32). Their bytes are zeroed
// when dropped.
#include <array>
#include <filesystem>
#include <memory>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::crypto {

using Signature = std::array<std::uint8_t, 64>;

enum class KeyType : std::uint8_t { rsa = 0, ed25519 = 1, secp256k1 = 2, ecdsa = 3 };

namespace detail {
struct RsaPublicKey;
}

class PublicKey {
  public:
    static constexpr std::size_t kSize = 32;  // an Ed25519 key
    static constexpr unsigned kMinRsaBits = 2048;
    static constexpr unsigned kMaxRsaBits = 8192;
    // An 8192-bit key's SubjectPublicKeyInfo with a 32-bit exponent is 1062 bytes.
    static constexpr std::size_t kMaxRsaDerSize = 1100;
    // Type (2 bytes), Data tag (1) and length (2) around the largest Data.
    static constexpr std::size_t kMaxProtobufSize = 5 + kMaxRsaDerSize;

    // An all-zero Ed25519 key (a placeholder until a real key is assigned).
    PublicKey() = default;
    static Result<PublicKey> from_raw(ByteSpan raw);  // the 32 bytes of an Ed25519 key
    static Result<PublicKey> from_rsa_der(ByteSpan spki_der);
    // Parses a serialized libp2p PublicKey protobuf (Ed25519 or RSA).
    static Result<PublicKey> from_protobuf(ByteSpan pb);

    KeyType type() const noexcept { return m_rsa ? KeyType::rsa : KeyType::ed25519; }
    // The Ed25519 key bytes, or nullptr for an RSA key.
    const std::array<std::uint8_t, kSize>* ed25519() const noexcept {
        return m_rsa ? nullptr : &m_ed25519;
    }
    // The protobuf Data field: the 32 Ed25519 bytes or the RSA DER.
    ByteSpan data() const noexcept;
    // 08 01 12 20 <32 bytes> for Ed25519; 08 00 12 <varint length> <DER> for RSA.
    Bytes to_protobuf() const;
    // Ed25519 signature, or RSASSA-PKCS1-v1_5 with SHA-256 for an RSA key.
    bool verify(ByteSpan message, ByteSpan signature) const noexcept;

    friend bool operator==(const PublicKey& a, const PublicKey& b) noexcept;

  private:
    std::array<std::uint8_t, kSize> m_ed25519{};
    // Immutable once parsed, so copies of the key share it.
    std::shared_ptr<const detail::RsaPublicKey> m_rsa;
};

class PrivateKey {
  public:
    static PrivateKey generate();
    static PrivateKey from_seed(ByteSpan seed32);
    // Parses a serialized libp2p PrivateKey protobuf (Ed25519, 64- or legacy 96-byte Data).
    static Result<PrivateKey> from_protobuf(ByteSpan pb);

    PrivateKey(const PrivateKey&) = delete;
    PrivateKey& operator=(const PrivateKey&) = delete;
    PrivateKey(PrivateKey&& other) noexcept;
    PrivateKey& operator=(PrivateKey&& other) noexcept;
    ~PrivateKey();
    // An explicit copy, for the objects (host, pubsub, mode) that each own the node's identity.
    PrivateKey clone() const;

    const PublicKey& public_key() const noexcept { return m_public; }
    Signature sign(ByteSpan message) const noexcept;
    // 08 01 12 40 <seed || public key>
    Bytes to_protobuf() const;

  private:
    PrivateKey() = default;
    std::array<std::uint8_t, 64> m_secret{};  // libsodium's sk: seed || pk
    PublicKey m_public;
};

// Key files hold the serialized PrivateKey protobuf, mode 0600, written atomically
// (temporary file, fsync, rename). Loading refuses files readable by group or others.
Result<void> write_key_file(const std::filesystem::path& path, const PrivateKey& key, bool force);
Result<PrivateKey> read_key_file(const std::filesystem::path& path);

}  // namespace swarmd::crypto
