#include "base/encoding.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace swarmd {
namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kHexDigits = "0123456789abcdef";

int base58_value(char c) {
    auto pos = kBase58Alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string base58_encode(ByteSpan data) {
    std::size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0) ++zeros;
    // log(256)/log(58) < 1.37
    std::vector<std::uint8_t> digits((data.size() - zeros) * 137 / 100 + 1, 0);
    std::size_t used = 0;
    for (std::size_t i = zeros; i < data.size(); ++i) {
        unsigned carry = data[i];
        std::size_t j = 0;
        for (auto it = digits.rbegin(); (carry != 0 || j < used) && it != digits.rend();
             ++it, ++j) {
            carry += 256U * *it;
            *it = static_cast<std::uint8_t>(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    auto it = std::find_if(digits.begin(), digits.end(), [](auto d) { return d != 0; });
    std::string out(zeros, '1');
    for (; it != digits.end(); ++it) out.push_back(kBase58Alphabet[*it]);
    return out;
}

Result<Bytes> base58_decode(std::string_view text) {
    if (text.size() > kMaxEncodedLength) return EncodingErrc::too_long;
    std::size_t zeros = 0;
    while (zeros < text.size() && text[zeros] == '1') ++zeros;
    // log(58)/log(256) < 0.733
    std::vector<std::uint8_t> bytes((text.size() - zeros) * 733 / 1000 + 1, 0);
    std::size_t used = 0;
    for (std::size_t i = zeros; i < text.size(); ++i) {
        int value = base58_value(text[i]);
        if (value < 0) return EncodingErrc::bad_base58;
        unsigned carry = static_cast<unsigned>(value);
        std::size_t j = 0;
        for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
            carry += 58U * *it;
            *it = static_cast<std::uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    auto it = std::find_if(bytes.begin(), bytes.end(), [](auto b) { return b != 0; });
    Bytes out(zeros, 0);
    out.insert(out.end(), it, bytes.end());
    return out;
}

std::string base32_encode(ByteSpan data) {
    std::string out;
    out.reserve((data.size() * 8 + 4) / 5);
    unsigned buffer = 0;
    int bits = 0;
    for (auto byte : data) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
            bits -= 5;
        }
    }
    if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
    return out;
}

Result<Bytes> base32_decode(std::string_view text) {
    if (text.size() > kMaxEncodedLength) return EncodingErrc::too_long;
    Bytes out;
    out.reserve(text.size() * 5 / 8);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        auto pos = kBase32Alphabet.find(c);
        if (pos == std::string_view::npos) return EncodingErrc::bad_base32;
        buffer = (buffer << 5) | static_cast<unsigned>(pos);
        bits += 5;
        if (bits >= 8) {
            out.push_back(static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff));
            bits -= 8;
        }
    }
    // Leftover bits must be zero padding shorter than a byte.
    if (bits >= 5 || (buffer & ((1U << bits) - 1)) != 0) return EncodingErrc::bad_base32;
    return out;
}

std::string hex_encode(ByteSpan data) {
    std::string out;
    out.reserve(data.size() * 2);
    for (auto b : data) {
        out.push_back(kHexDigits[b >> 4]);
        out.push_back(kHexDigits[b & 15]);
    }
    return out;
}

Result<Bytes> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0 || text.size() > 2 * kMaxEncodedLength) return EncodingErrc::bad_hex;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Bytes out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = nibble(text[i]);
        int lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return EncodingErrc::bad_hex;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return out;
}

}  // namespace swarmd
