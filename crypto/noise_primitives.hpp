#pragma once
// The primitives of Noise_XX_25519_ChaChaPoly_SHA256: X25519 and ChaCha20-Poly1305 (IETF) with
// Noise's nonce layout (4 zero bytes || little-endian u64). Hashing and HKDF are in hash.hpp.
#include <array>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::crypto {

inline constexpr std::size_t kDhSize = 32;
inline constexpr std::size_t kAeadTagSize = 16;

using DhPublic = std::array<std::uint8_t, kDhSize>;
using SymmetricKey = std::array<std::uint8_t, 32>;

class DhKeyPair {
  public:
    static DhKeyPair generate();
    static DhKeyPair from_secret(ByteSpan secret32);
    DhKeyPair(const DhKeyPair&) = delete;
    DhKeyPair& operator=(const DhKeyPair&) = delete;
    DhKeyPair(DhKeyPair&& other) noexcept;
    DhKeyPair& operator=(DhKeyPair&& other) noexcept;
    ~DhKeyPair();

    const DhPublic& public_key() const noexcept { return m_public; }
    // Fails with low_order_point when the peer's key yields an all-zero secret.
    Result<SymmetricKey> dh(ByteSpan peer_public) const;

  private:
    DhKeyPair() = default;
    std::array<std::uint8_t, kDhSize> m_secret{};
    DhPublic m_public{};
};

// Appends ciphertext || tag to `out`.
void aead_encrypt(const SymmetricKey& key, std::uint64_t nonce, ByteSpan ad, ByteSpan plaintext,
                  Bytes& out);
// Appends the plaintext to `out`; fails with decrypt_failed on a bad tag.
Result<void> aead_decrypt(const SymmetricKey& key, std::uint64_t nonce, ByteSpan ad,
                          ByteSpan ciphertext, Bytes& out);

void secure_zero(MutableByteSpan data) noexcept;
void random_bytes(MutableByteSpan out) noexcept;

}  // namespace swarmd::crypto
