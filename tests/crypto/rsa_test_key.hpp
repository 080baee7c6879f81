#pragma once
// Test-only RSA signer: swarmd never makes or signs with RSA keys, but its tests need peers that
// do. Keys are generated at test time with OpenSSL; der_spki() hand-assembles a
// SubjectPublicKeyInfo from raw integers for the shapes OpenSSL will not generate.
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

#include "base/bytes.hpp"
#include "base/varint.hpp"

namespace swarmd::test {

// A libp2p key protobuf {Type, Data}, written independently of crypto/keys.cpp.
inline Bytes key_protobuf(std::uint8_t type, ByteSpan data) {
    Bytes out{0x08, type, 0x12};
    varint_append(out, data.size());
    append(out, data);
    return out;
}

class RsaTestKey {
  public:
    // A fresh RSA key of `bits` bits.
    explicit RsaTestKey(unsigned bits) : m_key(EVP_RSA_gen(bits)) {
        if (!m_key) throw std::runtime_error("EVP_RSA_gen failed");
    }
    // A P-256 key: a SubjectPublicKeyInfo that is not RSA.
    static RsaTestKey p256() { return RsaTestKey(EVP_EC_gen("P-256")); }

    // One 2048-bit key per test binary: generating one takes a noticeable fraction of a second.
    static const RsaTestKey& shared2048() {
        static const RsaTestKey key(2048);
        return key;
    }

    Bytes spki_der() const {
        unsigned char* der = nullptr;
        const int len = i2d_PUBKEY(m_key.get(), &der);
        if (len <= 0) throw std::runtime_error("i2d_PUBKEY failed");
        Bytes out(der, der + len);
        OPENSSL_free(der);
        return out;
    }

    // The libp2p PublicKey protobuf: 08 00 12 <varint length> <DER>.
    Bytes public_protobuf() const { return key_protobuf(0, spki_der()); }

    // RSASSA-PKCS1-v1_5 over SHA-256.
    Bytes sign(ByteSpan message) const {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    EVP_MD_CTX_free);
        EVP_PKEY_CTX* pctx = nullptr;
        std::size_t len = 0;
        if (EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, m_key.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
            throw std::runtime_error("EVP_DigestSign setup failed");
        }
        Bytes sig(len);
        if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
            throw std::runtime_error("EVP_DigestSign failed");
        sig.resize(len);
        return sig;
    }

  private:
    explicit RsaTestKey(EVP_PKEY* key) : m_key(key) {
        if (!m_key) throw std::runtime_error("key generation failed");
    }
    struct Free {
        void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
    };
    std::unique_ptr<EVP_PKEY, Free> m_key;
};

// DER tag-length-value with the minimal length form.
inline Bytes der_tlv(std::uint8_t tag, ByteSpan value) {
    Bytes out{tag};
    const std::size_t n = value.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else if (n < 0x100) {
        out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
    } else {
        out.insert(out.end(),
                   {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
    append(out, value);
    return out;
}

// A positive DER INTEGER from big-endian magnitude bytes (no leading zeros in `magnitude`).
inline Bytes der_integer(ByteSpan magnitude) {
    Bytes v;
    if (!magnitude.empty() && (magnitude[0] & 0x80)) v.push_back(0x00);
    append(v, magnitude);
    return der_tlv(0x02, v);
}

// SubjectPublicKeyInfo { rsaEncryption, NULL } BIT STRING { RSAPublicKey { n, e } }.
inline Bytes der_spki(ByteSpan modulus, ByteSpan exponent) {
    static constexpr std::uint8_t kRsaAlgorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                     0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    Bytes rsa_key = der_integer(modulus);
    append(rsa_key, der_integer(exponent));
    Bytes bits{0x00};  // no unused bits
    append(bits, der_tlv(0x30, rsa_key));
    Bytes body(std::begin(kRsaAlgorithm), std::end(kRsaAlgorithm));
    append(body, der_tlv(0x03, bits));
    return der_tlv(0x30, body);
}

// An odd modulus of exactly `bits` bits (not a product of primes: parsing does not care).
inline Bytes fake_modulus(unsigned bits) {
    Bytes n((bits + 7) / 8, 0x5a);
    n[0] = static_cast<std::uint8_t>(0xff >> ((8 - bits % 8) % 8));
    n.back() |= 1;
    return n;
}

}  // namespace swarmd::test
