#pragma once
// Seeded perturbation streams: part of the wire protocol, frozen by the test vectors in
// tests/crypto/perturbation_test.cpp. Every node regenerates a peer's perturbation direction
// from (swarm id, author, round, index), so these mappings must give the same values on every
// platform and in every release. Changing anything here forks the protocol.
//
// Key derivation (all integers big-endian):
//   key = SHA-256( u8 len(domain) || domain
//                  || u32 len(swarm_id) || swarm_id
//                  || u32 len(author)   || author
//                  || u64 round || u32 index )
//   with domain one of "swarmd/perturbation/v1", "swarmd/rounding/v1", "swarmd/init/v1".
//
// Keystream: ChaCha20 (IETF variant, RFC 8439: 32-bit block counter, 96-bit nonce) with that key,
// an all-zero nonce and the block counter starting at 0. Byte b of the stream is byte b % 64 of
// block b / 64, so any offset is read directly without generating what precedes it.
//
// Value mappings (value offset v counts values, not bytes):
//   Rademacher: value v is bit v % 8 (least significant bit first) of stream byte v / 8;
//               bit 0 -> +1.0f, bit 1 -> -1.0f.
//   Gaussian:   values come in pairs; pair p = v / 2 reads stream bytes [8p, 8p + 8) as two
//               little-endian u32 words a, b. In IEEE double:
//                 u1 = (a + 1) * 2^-32   (in (0, 1], so the log is finite)
//                 u2 = b * 2^-32         (in [0, 1))
//                 r  = sqrt(-2 * log(u1)),  t = 2 * pi * u2   (pi = 3.141592653589793)
//               value 2p = (float)(r * cos(t)), value 2p + 1 = (float)(r * sin(t)).
//               The float rounding hides last-ulp differences between libm implementations.
//   Uniform:    value v is the little-endian u32 at stream bytes [4v, 4v + 4) times 2^-32
//               (a double in [0, 1)).
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/bytes.hpp"

namespace swarmd::crypto {

// What a stream is used for; each purpose has its own key so that no two uses share bytes.
enum class StreamDomain : std::uint8_t {
    perturbation,  // the direction z of a ZO update
    rounding,      // the stochastic rounding of the one-byte codec
    init,          // model initialisation (author empty, round = init seed, index = tensor)
};

std::string_view domain_label(StreamDomain domain) noexcept;

using StreamKey = std::array<std::uint8_t, 32>;

StreamKey derive_stream_key(StreamDomain domain, ByteSpan swarm_id, ByteSpan author,
                            std::uint64_t round, std::uint32_t index) noexcept;

// Bytes readable from one stream: 2^32 ChaCha20 blocks of 64 bytes.
inline constexpr std::uint64_t kStreamBytes = std::uint64_t{1} << 38;

// A random-access view of one keystream. Cheap to copy; every read is independent, so a tensor
// can be filled from several threads in chunks and each chunk equals the same slice of one
// sequential read. Reads past kStreamBytes throw std::out_of_range (a caller bug: offsets come
// from model sizes, never from the network).
class PerturbationStream {
  public:
    explicit PerturbationStream(const StreamKey& key) noexcept : m_key(key) {}

    void bytes(std::uint64_t byte_offset, MutableByteSpan out) const;
    void rademacher(std::uint64_t value_offset, std::span<float> out) const;
    void gaussian(std::uint64_t value_offset, std::span<float> out) const;
    void uniform(std::uint64_t value_offset, std::span<double> out) const;

    const StreamKey& key() const noexcept { return m_key; }

  private:
    StreamKey m_key;
};

}  // namespace swarmd::crypto
