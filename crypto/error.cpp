#include "crypto/error.hpp"

#include <string>

namespace swarmd::crypto {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::bad_length:
            return "wrong length";
        case Errc::bad_multibase:
            return "unknown multibase prefix";
        case Errc::bad_multihash:
            return "malformed multihash";
        case Errc::bad_cid:
            return "malformed CID or not a libp2p-key CID";
        case Errc::unsupported_key_type:
            return "unsupported key type (Ed25519 and RSA only)";
        case Errc::bad_public_key:
            return "malformed public key";
        case Errc::bad_private_key:
            return "malformed private key";
        case Errc::bad_signature:
            return "signature does not verify";
        case Errc::key_file_exists:
            return "key file exists (use --force to overwrite)";
        case Errc::key_file_io:
            return "cannot read or write key file";
        case Errc::key_file_permissions:
            return "key file is readable by others (want 0600)";
        case Errc::decrypt_failed:
            return "authentication tag mismatch";
        case Errc::low_order_point:
            return "X25519 produced a low-order point";
        case Errc::key_too_large:
            return "public key too large (RSA above 8192 bits)";
        case Errc::rsa_key_too_small:
            return "RSA key below 2048 bits";
        case Errc::bad_psk_header:
            return "not a private network key file (the first line must be /key/swarm/psk/1.0.0/)";
        case Errc::bad_psk_encoding:
            return "unsupported private network key encoding (the second line must be /base16/)";
        case Errc::bad_psk_key:
            return "private network key must be one line of 64 hex digits (32 bytes)";
    }
    return nullptr;
}

}  // namespace

const std::error_category& crypto_category() noexcept {
    static const EnumCategory<Errc> category("crypto", describe);
    return category;
}

}  // namespace swarmd::crypto
