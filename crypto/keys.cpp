#include "crypto/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "base/file.hpp"
#include "base/varint.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {

namespace detail {

struct EvpPkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};

struct RsaPublicKey {
    Bytes der;  // the SubjectPublicKeyInfo exactly as received (and as OpenSSL re-encodes it)
    std::unique_ptr<EVP_PKEY, EvpPkeyFree> pkey;
    std::size_t signature_size = 0;  // the modulus size in bytes
};

}  // namespace detail

namespace {

constexpr std::uint8_t kKeyTypeEd25519 = static_cast<std::uint8_t>(KeyType::ed25519);
constexpr std::uint8_t kKeyTypeRsa = static_cast<std::uint8_t>(KeyType::rsa);
constexpr std::size_t kMaxKeyFileSize = 4096;
constexpr unsigned kMaxRsaExponentBits = 31;

struct KeyProtobuf {
    std::uint8_t type;
    ByteSpan data;
};

// Parses the two-field libp2p key protobuf {1: varint type, 2: bytes data} in canonical form.
Result<KeyProtobuf> parse_key_pb(ByteSpan pb, std::size_t max_size) {
    if (pb.size() > max_size) return Errc::key_too_large;
    if (pb.size() < 3 || pb[0] != 0x08 || pb[1] >= 0x80 || pb[2] != 0x12)
        return Errc::bad_public_key;
    const auto len = varint_decode(pb.subspan(3));
    if (len.status != VarintStatus::ok) return Errc::bad_public_key;
    if (pb.size() - 3 - len.length != len.value) return Errc::bad_length;
    return KeyProtobuf{pb[1], pb.subspan(3 + len.length)};
}

// OpenSSL keeps a per-thread error queue; a refused peer key must not leave entries behind.
template <typename T>
T clear_openssl_errors(T value) noexcept {
    ERR_clear_error();
    return value;
}

Result<void> check_rsa_exponent(const EVP_PKEY* pkey) {
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) return Errc::bad_public_key;
    const bool ok = BN_num_bits(e) <= static_cast<int>(kMaxRsaExponentBits) && BN_is_odd(e) &&
                    BN_get_word(e) >= 3;
    BN_free(e);
    if (!ok) return Errc::bad_public_key;
    return success();
}

bool rsa_verify(const detail::RsaPublicKey& key, ByteSpan message, ByteSpan signature) noexcept {
    if (signature.size() != key.signature_size) return false;
    static constexpr std::uint8_t kEmpty = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) return clear_openssl_errors(false);
    EVP_PKEY_CTX* pctx = nullptr;
    const bool ok =
        EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_DigestVerify(ctx, signature.data(), signature.size(),
                         message.empty() ? &kEmpty : message.data(), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return clear_openssl_errors(ok);
}

}  // namespace

Result<PublicKey> PublicKey::from_raw(ByteSpan raw) {
    if (raw.size() != kSize) return Errc::bad_length;
    PublicKey key;
    std::copy(raw.begin(), raw.end(), key.m_ed25519.begin());
    return key;
}

Result<PublicKey> PublicKey::from_rsa_der(ByteSpan der) {
    if (der.size() > kMaxRsaDerSize) return Errc::key_too_large;
    if (der.empty()) return Errc::bad_public_key;
    const unsigned char* p = der.data();
    std::unique_ptr<EVP_PKEY, detail::EvpPkeyFree> pkey(
        d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!pkey) return clear_openssl_errors(Errc::bad_public_key);
    if (p != der.data() + der.size()) return Errc::bad_public_key;  // trailing bytes
    // rsaEncryption only: an RSASSA-PSS or any other SubjectPublicKeyInfo is not a libp2p RSA key.
    if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) return Errc::bad_public_key;
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < static_cast<int>(kMinRsaBits)) return Errc::rsa_key_too_small;
    if (bits > static_cast<int>(kMaxRsaBits)) return Errc::key_too_large;
    if (auto r = check_rsa_exponent(pkey.get()); !r) return clear_openssl_errors(r.error());
    // DER has one encoding per key; anything OpenSSL would re-encode differently (BER lengths,
    // padded integers) is refused so that the key, its protobuf and its peer id round-trip.
    unsigned char* reencoded = nullptr;
    const int len = i2d_PUBKEY(pkey.get(), &reencoded);
    const bool canonical =
        len == static_cast<int>(der.size()) && std::equal(der.begin(), der.end(), reencoded);
    OPENSSL_free(reencoded);
    if (!canonical) return clear_openssl_errors(Errc::bad_public_key);

    auto rsa = std::make_shared<detail::RsaPublicKey>();
    rsa->der.assign(der.begin(), der.end());
    rsa->signature_size = static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()));
    rsa->pkey = std::move(pkey);
    PublicKey key;
    key.m_rsa = std::move(rsa);
    return key;
}

Result<PublicKey> PublicKey::from_protobuf(ByteSpan pb) {
    BOOST_OUTCOME_TRY(parsed, parse_key_pb(pb, kMaxProtobufSize));
    switch (parsed.type) {
        case kKeyTypeEd25519:
            return from_raw(parsed.data);
        case kKeyTypeRsa:
            return from_rsa_der(parsed.data);
        default:
            return Errc::unsupported_key_type;
    }
}

ByteSpan PublicKey::data() const noexcept {
    if (m_rsa) return m_rsa->der;
    return m_ed25519;
}

Bytes PublicKey::to_protobuf() const {
    const ByteSpan d = data();
    Bytes out{0x08, static_cast<std::uint8_t>(type()), 0x12};
    out.reserve(3 + varint_size(d.size()) + d.size());
    varint_append(out, d.size());
    append(out, d);
    return out;
}

bool PublicKey::verify(ByteSpan message, ByteSpan signature) const noexcept {
    if (m_rsa) return rsa_verify(*m_rsa, message, signature);
    if (signature.size() != crypto_sign_ed25519_BYTES) return false;
    return crypto_sign_ed25519_verify_detached(signature.data(), message.data(), message.size(),
                                               m_ed25519.data()) == 0;
}

bool operator==(const PublicKey& a, const PublicKey& b) noexcept {
    if (a.type() != b.type()) return false;
    const ByteSpan x = a.data(), y = b.data();
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
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
    auto parsed = parse_key_pb(pb, kMaxKeyFileSize);
    if (!parsed) return Errc::bad_private_key;
    if (parsed.value().type != kKeyTypeEd25519) return Errc::unsupported_key_type;
    ByteSpan d = parsed.value().data;
    if (d.size() != 64 && d.size() != 96) return Errc::bad_private_key;
    PrivateKey key = from_seed(d.first(32));
    // The stored public half must match the one the seed derives.
    const ByteSpan pk = key.m_public.data();
    if (!std::equal(d.begin() + 32, d.begin() + 64, pk.begin())) {
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
