#pragma once
// Ed25519 identity keys in libp2p's encodings: PublicKey protobuf {Type=Ed25519(1), Data=32 B},
// PrivateKey Data = seed(32) || public key(32). Private key bytes are zeroed when dropped.
#include <array>
#include <filesystem>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::crypto {

using Signature = std::array<std::uint8_t, 64>;

class PublicKey {
  public:
    static constexpr std::size_t kSize = 32;

    static Result<PublicKey> from_raw(ByteSpan raw);
    // Parses a serialized libp2p PublicKey protobuf; only Ed25519 is supported.
    static Result<PublicKey> from_protobuf(ByteSpan pb);

    const std::array<std::uint8_t, kSize>& raw() const noexcept { return m_key; }
    // 08 01 12 20 <32 bytes>
    Bytes to_protobuf() const;
    bool verify(ByteSpan message, ByteSpan signature) const noexcept;

    friend bool operator==(const PublicKey&, const PublicKey&) = default;

  private:
    std::array<std::uint8_t, kSize> m_key{};
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
