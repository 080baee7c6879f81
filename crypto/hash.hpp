#pragma once
// SHA-256, HMAC-SHA256 and the two-output HKDF that Noise uses (libsodium 1.0.18 has no HKDF).
#include <array>

#include "base/bytes.hpp"

namespace swarmd::crypto {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(ByteSpan data) noexcept;

// Incremental SHA-256 over several pieces.
class Sha256 {
  public:
    Sha256() noexcept;
    Sha256& update(ByteSpan data) noexcept;
    Digest finish() noexcept;

  private:
    alignas(64) std::array<std::uint8_t, 128> m_state;  // crypto_hash_sha256_state
};

Digest hmac_sha256(ByteSpan key, ByteSpan data) noexcept;

// Noise's HKDF(ck, ikm) with two outputs: t = HMAC(ck, ikm), o1 = HMAC(t, 0x01),
// o2 = HMAC(t, o1 || 0x02).
std::array<Digest, 2> hkdf2(ByteSpan chaining_key, ByteSpan input_key_material) noexcept;

// Initialises libsodium once; every crypto entry point calls it.
void ensure_sodium();

}  // namespace swarmd::crypto
