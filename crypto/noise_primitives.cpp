#include "crypto/noise_primitives.hpp"

#include <sodium.h>

#include <algorithm>

#include "base/endian.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {
namespace {

std::array<std::uint8_t, 12> noise_nonce(std::uint64_t n) {
    std::array<std::uint8_t, 12> nonce{};
    store_le(&nonce[4], n);
    return nonce;
}

}  // namespace

DhKeyPair DhKeyPair::generate() {
    ensure_sodium();
    std::array<std::uint8_t, kDhSize> secret;
    randombytes_buf(secret.data(), secret.size());
    DhKeyPair kp = from_secret(secret);
    sodium_memzero(secret.data(), secret.size());
    return kp;
}

DhKeyPair DhKeyPair::from_secret(ByteSpan secret32) {
    ensure_sodium();
    DhKeyPair kp;
    std::copy_n(secret32.begin(), kDhSize, kp.m_secret.begin());
    crypto_scalarmult_curve25519_base(kp.m_public.data(), kp.m_secret.data());
    return kp;
}

DhKeyPair::DhKeyPair(DhKeyPair&& other) noexcept
    : m_secret(other.m_secret), m_public(other.m_public) {
    sodium_memzero(other.m_secret.data(), other.m_secret.size());
}

DhKeyPair& DhKeyPair::operator=(DhKeyPair&& other) noexcept {
    if (this != &other) {
        m_secret = other.m_secret;
        m_public = other.m_public;
        sodium_memzero(other.m_secret.data(), other.m_secret.size());
    }
    return *this;
}

DhKeyPair::~DhKeyPair() { sodium_memzero(m_secret.data(), m_secret.size()); }

Result<SymmetricKey> DhKeyPair::dh(ByteSpan peer_public) const {
    if (peer_public.size() != kDhSize) return Errc::bad_length;
    SymmetricKey out;
    if (crypto_scalarmult_curve25519(out.data(), m_secret.data(), peer_public.data()) != 0) {
        return Errc::low_order_point;
    }
    return out;
}

void aead_encrypt(const SymmetricKey& key, std::uint64_t nonce, ByteSpan ad, ByteSpan plaintext,
                  Bytes& out) {
    const auto n = noise_nonce(nonce);
    const std::size_t offset = out.size();
    out.resize(offset + plaintext.size() + kAeadTagSize);
    unsigned long long written = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + offset, &written, plaintext.data(),
                                              plaintext.size(), ad.data(), ad.size(), nullptr,
                                              n.data(), key.data());
    out.resize(offset + written);
}

Result<void> aead_decrypt(const SymmetricKey& key, std::uint64_t nonce, ByteSpan ad,
                          ByteSpan ciphertext, Bytes& out) {
    if (ciphertext.size() < kAeadTagSize) return Errc::decrypt_failed;
    const auto n = noise_nonce(nonce);
    const std::size_t offset = out.size();
    out.resize(offset + ciphertext.size() - kAeadTagSize);
    unsigned long long written = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + offset, &written, nullptr,
                                                  ciphertext.data(), ciphertext.size(), ad.data(),
                                                  ad.size(), n.data(), key.data()) != 0) {
        out.resize(offset);
        return Errc::decrypt_failed;
    }
    out.resize(offset + written);
    return success();
}

void secure_zero(MutableByteSpan data) noexcept { sodium_memzero(data.data(), data.size()); }

void random_bytes(MutableByteSpan out) noexcept {
    ensure_sodium();
    randombytes_buf(out.data(), out.size());
}

}  // namespace swarmd::crypto
