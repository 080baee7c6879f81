#pragma once
// Unsigned varint as multiformats defines it: LEB128, at most 9 bytes (63 bits), minimal
// encoding only (a trailing 0x00 continuation byte is rejected).
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"

namespace swarmd {

inline constexpr std::size_t kMaxVarintBytes = 9;

enum class VarintStatus { ok, incomplete, overflow, not_minimal };

struct VarintDecoded {
    VarintStatus status;
    std::uint64_t value;
    std::size_t length;  // bytes consumed when status == ok
};

// Decodes a varint at the start of `in`. `incomplete` means more bytes are needed.
VarintDecoded varint_decode(ByteSpan in) noexcept;

void varint_append(Bytes& out, std::uint64_t value);
std::size_t varint_size(std::uint64_t value) noexcept;

}  // namespace swarmd
