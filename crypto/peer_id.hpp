#pragma once
// libp2p peer ids: the multihash of a serialized PublicKey (identity multihash when the key
// encodes to at most 42 bytes, as Ed25519 does; sha2-256 otherwise). Text forms: base58btc
// ("12D3KooW..." / "Qm...") and CIDv1 with the libp2p-key codec ("bafz...").
#include <compare>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"

namespace swarmd::crypto {

class PeerId {
  public:
    static constexpr std::size_t kMaxMultihashSize = 64;

    static PeerId from_public_key(const PublicKey& key);
    // Validates a binary multihash (identity or sha2-256).
    static Result<PeerId> from_bytes(ByteSpan multihash);
    // Accepts base58btc multihashes and multibase CIDv1 (codec libp2p-key 0x72).
    static Result<PeerId> parse(std::string_view text);

    const Bytes& bytes() const noexcept { return m_multihash; }
    std::string to_base58() const;
    std::string to_cid() const;
    // The Ed25519 public key inlined in an identity multihash, if any.
    std::optional<PublicKey> public_key() const;
    // Whether the id is the SHA-256 multihash of a key too large to inline (RSA): a peer then
    // proves it with the key it sends in the handshake.
    bool hashes_key() const noexcept;
    // A short form for logs: the last 6 characters of the base58 form.
    std::string short_string() const;

    friend bool operator==(const PeerId&, const PeerId&) = default;
    friend auto operator<=>(const PeerId& a, const PeerId& b) {
        return a.m_multihash <=> b.m_multihash;
    }

  private:
    Bytes m_multihash;
};

}  // namespace swarmd::crypto

template <>
struct std::hash<swarmd::crypto::PeerId> {
    std::size_t operator()(const swarmd::crypto::PeerId& id) const noexcept {
        return std::hash<std::string_view>{}(swarmd::as_string_view(id.bytes()));
    }
};
