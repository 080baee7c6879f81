#include "base/varint.hpp"

namespace swarmd {

VarintDecoded varint_decode(ByteSpan in) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (i == kMaxVarintBytes) return {VarintStatus::overflow, 0, 0};
        const std::uint8_t byte = in[i];
        value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            if (byte == 0 && i > 0) return {VarintStatus::not_minimal, 0, 0};
            return {VarintStatus::ok, value, i + 1};
        }
    }
    if (in.size() >= kMaxVarintBytes) return {VarintStatus::overflow, 0, 0};
    return {VarintStatus::incomplete, 0, 0};
}

void varint_append(Bytes& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(value | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
}

std::size_t varint_size(std::uint64_t value) noexcept {
    std::size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

}  // namespace swarmd
