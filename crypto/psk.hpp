#pragma once
// Private networks (libp2p pnet, PSK v1): the 32-byte pre-shared key every member of a private
// swarm holds, read from the libp2p key file format, and the XSalsa20 stream that the connection
// protector XORs over every byte of a raw connection.
//
//   /key/swarm/psk/1.0.0/
//   /base16/
//   <64 hex digits>
//
// (go-libp2p also reads /bin/ and /base64/ keys; every generator in use writes /base16/, so
// only that encoding is accepted.)
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::crypto {

class Psk {
  public:
    static constexpr std::size_t kSize = 32;
    using Key = std::array<std::uint8_t, kSize>;

    explicit Psk(const Key& key) noexcept : m_key(key) {}
    Psk(const Psk&) = default;
    Psk& operator=(const Psk&) = default;
    ~Psk();

    // The whole key file; one trailing newline (LF) is accepted, nothing else around the lines.
    static Result<Psk> parse(std::string_view file);
    // The key file text for this key (with a trailing newline), as go-ipfs-swarm-key-gen writes.
    std::string to_file() const;

    const Key& key() const noexcept { return m_key; }
    friend bool operator==(const Psk&, const Psk&) = default;

  private:
    Key m_key;
};

// Reads and parses a key file. Like the identity key, it must not be readable by group or
// others (key_file_permissions); a missing or unreadable file returns the OS error.
Result<Psk> read_psk_file(const std::filesystem::path& path);

// XSalsa20 keyed by a PSK and a 24-byte nonce, applied to a byte stream split into arbitrary
// writes: the keystream continues where the previous call stopped (block counter and the offset
// inside the 64-byte block), so chunking never changes the output.
class XSalsa20Stream {
  public:
    static constexpr std::size_t kNonceSize = 24;
    static constexpr std::size_t kBlockSize = 64;
    using Nonce = std::array<std::uint8_t, kNonceSize>;

    XSalsa20Stream(const Psk& psk, const Nonce& nonce) noexcept;
    XSalsa20Stream(const XSalsa20Stream&) = delete;
    XSalsa20Stream& operator=(const XSalsa20Stream&) = delete;
    ~XSalsa20Stream();

    // Encrypts or decrypts in place.
    void apply(MutableByteSpan data) noexcept;

  private:
    Psk::Key m_key;
    Nonce m_nonce;
    std::uint64_t m_counter = 0;                     // the block holding the next keystream byte
    std::size_t m_offset = 0;                        // bytes of that block already used
    std::array<std::uint8_t, kBlockSize> m_block{};  // its keystream, while m_offset > 0
};

// A fresh random nonce for one direction of one connection.
XSalsa20Stream::Nonce random_pnet_nonce();

}  // namespace swarmd::crypto
