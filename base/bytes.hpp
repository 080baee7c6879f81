#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swarmd {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;
using MutableByteSpan = std::span<std::uint8_t>;

inline ByteSpan as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::string_view as_string_view(ByteSpan b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline void append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

}  // namespace swarmd
