#include "crypto/hash.hpp"

#include <sodium.h>

#include <stdexcept>

namespace swarmd::crypto {

static_assert(sizeof(crypto_hash_sha256_state) <= 128);

void ensure_sodium() {
    static const bool ok = sodium_init() >= 0;
    if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

Digest sha256(ByteSpan data) noexcept {
    Digest out;
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
}

Sha256::Sha256() noexcept {
    crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(m_state.data()));
}

Sha256& Sha256::update(ByteSpan data) noexcept {
    crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(m_state.data()),
                              data.data(), data.size());
    return *this;
}

Digest Sha256::finish() noexcept {
    Digest out;
    crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(m_state.data()),
                             out.data());
    return out;
}

Digest hmac_sha256(ByteSpan key, ByteSpan data) noexcept {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, data.data(), data.size());
    Digest out;
    crypto_auth_hmacsha256_final(&st, out.data());
    sodium_memzero(&st, sizeof st);
    return out;
}

std::array<Digest, 2> hkdf2(ByteSpan chaining_key, ByteSpan input_key_material) noexcept {
    Digest temp = hmac_sha256(chaining_key, input_key_material);
    const std::uint8_t one = 0x01;
    Digest o1 = hmac_sha256(temp, ByteSpan(&one, 1));
    std::array<std::uint8_t, 33> buf;
    std::copy(o1.begin(), o1.end(), buf.begin());
    buf[32] = 0x02;
    Digest o2 = hmac_sha256(temp, buf);
    sodium_memzero(temp.data(), temp.size());
    sodium_memzero(buf.data(), buf.size());
    return {o1, o2};
}

}  // namespace swarmd::crypto
