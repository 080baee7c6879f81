#include "crypto/perturbation.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "base/endian.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {

namespace {

constexpr std::size_t kBlock = 64;
constexpr std::size_t kChunk = 1024;  // bytes generated per step of the value mappings

// ChaCha20 keystream for whole blocks starting at `block`, written over `out` (a multiple of
// 64 bytes or the final partial block).
void keystream_blocks(const StreamKey& key, std::uint64_t block, std::uint8_t* out,
                      std::size_t len) {
    static constexpr std::uint8_t kNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
    std::memset(out, 0, len);
    // libsodium allows the message and ciphertext buffers to be the same.
    crypto_stream_chacha20_ietf_xor_ic(out, out, len, kNonce, static_cast<std::uint32_t>(block),
                                       key.data());
}

// kSigns[b][j] is the Rademacher value of bit j of byte b.
struct SignTable {
    float v[256][8];
    constexpr SignTable() : v() {
        for (int b = 0; b < 256; ++b) {
            for (int j = 0; j < 8; ++j) v[b][j] = ((b >> j) & 1) != 0 ? -1.0f : 1.0f;
        }
    }
};
constexpr SignTable kSignTable;
constexpr const float (&kSigns)[256][8] = kSignTable.v;

}  // namespace

std::string_view domain_label(StreamDomain domain) noexcept {
    switch (domain) {
        case StreamDomain::perturbation:
            return "swarmd/perturbation/v1";
        case StreamDomain::rounding:
            return "swarmd/rounding/v1";
        case StreamDomain::init:
            return "swarmd/init/v1";
    }
    return "swarmd/unknown";
}

StreamKey derive_stream_key(StreamDomain domain, ByteSpan swarm_id, ByteSpan author,
                            std::uint64_t round, std::uint32_t index) noexcept {
    ensure_sodium();
    const auto label = domain_label(domain);
    Sha256 h;
    const auto label_len = static_cast<std::uint8_t>(label.size());
    h.update({&label_len, 1}).update(as_bytes(label));
    std::uint8_t len[4];
    store_be<std::uint32_t>(len, static_cast<std::uint32_t>(swarm_id.size()));
    h.update(len).update(swarm_id);
    store_be<std::uint32_t>(len, static_cast<std::uint32_t>(author.size()));
    h.update(len).update(author);
    std::uint8_t tail[12];
    store_be<std::uint32_t>(tail, static_cast<std::uint32_t>(round >> 32));
    store_be<std::uint32_t>(tail + 4, static_cast<std::uint32_t>(round));
    store_be<std::uint32_t>(tail + 8, index);
    h.update(tail);
    return h.finish();
}

void PerturbationStream::bytes(std::uint64_t byte_offset, MutableByteSpan out) const {
    if (out.empty()) return;
    if (byte_offset > kStreamBytes || out.size() > kStreamBytes - byte_offset) {
        throw std::out_of_range("perturbation stream read past 2^38 bytes");
    }
    std::uint64_t block = byte_offset / kBlock;
    std::size_t skip = static_cast<std::size_t>(byte_offset % kBlock);
    std::size_t done = 0;
    if (skip != 0) {
        std::uint8_t first[kBlock];
        keystream_blocks(m_key, block, first, kBlock);
        done = std::min(out.size(), kBlock - skip);
        std::memcpy(out.data(), first + skip, done);
        ++block;
    }
    if (done < out.size()) keystream_blocks(m_key, block, out.data() + done, out.size() - done);
}

void PerturbationStream::rademacher(std::uint64_t value_offset, std::span<float> out) const {
    std::uint8_t buf[kChunk + 1];
    std::size_t pos = 0;
    while (pos < out.size()) {
        const std::uint64_t v = value_offset + pos;
        const unsigned shift = static_cast<unsigned>(v % 8);
        const std::size_t n = std::min<std::size_t>(out.size() - pos, kChunk * 8 - shift);
        bytes(v / 8, {buf, (shift + n + 7) / 8});
        float* dst = out.data() + pos;
        std::size_t i = 0;
        for (; i < n && (shift + i) % 8 != 0; ++i) {
            dst[i] = kSigns[buf[0]][shift + i];
        }
        for (; i + 8 <= n; i += 8) std::memcpy(dst + i, kSigns[buf[(shift + i) / 8]], 32);
        for (; i < n; ++i) dst[i] = kSigns[buf[(shift + i) / 8]][(shift + i) % 8];
        pos += n;
    }
}

void PerturbationStream::gaussian(std::uint64_t value_offset, std::span<float> out) const {
    constexpr double kTwoPi = 2.0 * 3.141592653589793;
    constexpr double kInv32 = 1.0 / 4294967296.0;
    std::uint8_t buf[kChunk];
    std::size_t pos = 0;
    while (pos < out.size()) {
        const std::uint64_t v = value_offset + pos;
        const std::uint64_t first_pair = v / 2;
        const std::uint64_t last_value =
            std::min<std::uint64_t>(value_offset + out.size(), (first_pair + kChunk / 8) * 2);
        const std::size_t pairs = static_cast<std::size_t>((last_value + 1) / 2 - first_pair);
        bytes(first_pair * 8, {buf, pairs * 8});
        for (std::size_t p = 0; p < pairs; ++p) {
            const double u1 =
                (static_cast<double>(load_le<std::uint32_t>(buf + 8 * p)) + 1.0) * kInv32;
            const double u2 = static_cast<double>(load_le<std::uint32_t>(buf + 8 * p + 4)) * kInv32;
            const double r = std::sqrt(-2.0 * std::log(u1));
            const double t = kTwoPi * u2;
            const std::uint64_t even = (first_pair + p) * 2;
            if (even >= v && even < last_value) {
                out[static_cast<std::size_t>(even - value_offset)] =
                    static_cast<float>(r * std::cos(t));
            }
            if (even + 1 >= v && even + 1 < last_value) {
                out[static_cast<std::size_t>(even + 1 - value_offset)] =
                    static_cast<float>(r * std::sin(t));
            }
        }
        pos = static_cast<std::size_t>(last_value - value_offset);
    }
}

void PerturbationStream::uniform(std::uint64_t value_offset, std::span<double> out) const {
    constexpr double kInv32 = 1.0 / 4294967296.0;
    std::uint8_t buf[kChunk];
    std::size_t pos = 0;
    while (pos < out.size()) {
        const std::size_t n = std::min<std::size_t>(out.size() - pos, kChunk / 4);
        bytes((value_offset + pos) * 4, {buf, n * 4});
        for (std::size_t i = 0; i < n; ++i) {
            out[pos + i] = static_cast<double>(load_le<std::uint32_t>(buf + 4 * i)) * kInv32;
        }
        pos += n;
    }
}

}  // namespace swarmd::crypto
