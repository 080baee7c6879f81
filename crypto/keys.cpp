#include "crypto/keys.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "base/file.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {
namespace {

constexpr std::uint8_t kKeyTypeEd25519 = 1;
constexpr std::size_t kMaxKeyFileSize = 4096;

// Parses the two-field libp2p key protobuf {1: varint type, 2: bytes data} in canonical form.
Result<ByteSpan> parse_key_pb(ByteSpan pb) {
    if (pb.size() < 4 || pb[0] != 0x08) return Errc::bad_public_key;
    if (pb[1] != kKeyTypeEd25519) return Errc::unsupported_key_type;
    if (pb[2] != 0x12) return Errc::bad_public_key;
    const std::size_t len = pb[3];
    if (len >= 0x80 || pb.size() != 4 + len) return Errc::bad_length;
    return pb.subspan(4);
}

}  // namespace

Result<PublicKey> PublicKey::from_raw(ByteSpan raw) {
    if (raw.size() != kSize) return Errc::bad_length;
    PublicKey key;
    std::copy(raw.begin(), raw.end(), key.m_key.begin());
    return key;
}

Result<PublicKey> PublicKey::from_protobuf(ByteSpan pb) {
    BOOST_OUTCOME_TRY(data, parse_key_pb(pb));
    return from_raw(data);
}

Bytes PublicKey::to_protobuf() const {
    Bytes out{0x08, kKeyTypeEd25519, 0x12, static_cast<std::uint8_t>(kSize)};
    append(out, m_key);
    return out;
}

bool PublicKey::verify(ByteSpan message, ByteSpan signature) const noexcept {
    if (signature.size() != crypto_sign_ed25519_BYTES) return false;
    return crypto_sign_ed25519_verify_detached(signature.data(), message.data(), message.size(),
                                               m_key.data()) == 0;
}

PrivateKey PrivateKey::generate() {
    ensure_sodium();
    std::array<std::uint8_t, 32> seed;
    randombytes_buf(seed.data(), seed.size());
    PrivateKey key = from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    return key;
}

PrivateKey PrivateKey::from_seed(ByteSpan seed32) {
    ensure_sodium();
    PrivateKey key;
    std::array<std::uint8_t, 32> pk;
    crypto_sign_ed25519_seed_keypair(pk.data(), key.m_secret.data(), seed32.data());
    key.m_public = PublicKey::from_raw(pk).value();
    return key;
}

Result<PrivateKey> PrivateKey::from_protobuf(ByteSpan pb) {
    auto data = parse_key_pb(pb);
    if (!data) {
        return data.error() == make_error_code(Errc::unsupported_key_type)
                   ? data.error()
                   : make_error_code(Errc::bad_private_key);
    }
    ByteSpan d = data.value();
    if (d.size() != 64 && d.size() != 96) return Errc::bad_private_key;
    PrivateKey key = from_seed(d.first(32));
    // The stored public half must match the one the seed derives.
    if (!std::equal(d.begin() + 32, d.begin() + 64, key.m_public.raw().begin())) {
        return Errc::bad_private_key;
    }
    return key;
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : m_secret(other.m_secret), m_public(other.m_public) {
    sodium_memzero(other.m_secret.data(), other.m_secret.size());
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
    if (this != &other) {
        m_secret = other.m_secret;
        m_public = other.m_public;
        sodium_memzero(other.m_secret.data(), other.m_secret.size());
    }
    return *this;
}

PrivateKey::~PrivateKey() { sodium_memzero(m_secret.data(), m_secret.size()); }

PrivateKey PrivateKey::clone() const {
    PrivateKey copy;
    copy.m_secret = m_secret;
    copy.m_public = m_public;
    return copy;
}

Signature PrivateKey::sign(ByteSpan message) const noexcept {
    Signature sig;
    crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(),
                                 m_secret.data());
    return sig;
}

Bytes PrivateKey::to_protobuf() const {
    Bytes out{0x08, kKeyTypeEd25519, 0x12, 64};
    append(out, m_secret);
    return out;
}

Result<void> write_key_file(const std::filesystem::path& path, const PrivateKey& key, bool force) {
    Bytes pb = key.to_protobuf();
    auto ec = write_file_atomic(path, pb, 0600, force ? Overwrite::allow : Overwrite::refuse);
    sodium_memzero(pb.data(), pb.size());
    if (ec == std::errc::file_exists) return Errc::key_file_exists;
    if (ec) return ec;
    return success();
}

Result<PrivateKey> read_key_file(const std::filesystem::path& path) {
    Bytes pb;
    if (auto ec = read_secret_file(path, pb, kMaxKeyFileSize, 077)) {
        if (ec == std::errc::operation_not_permitted) return Errc::key_file_permissions;
        return ec;
    }
    auto key = PrivateKey::from_protobuf(pb);
    sodium_memzero(pb.data(), pb.size());
    return key;
}

}  // namespace swarmd::crypto
