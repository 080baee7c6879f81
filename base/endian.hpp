#pragma once
// Fixed-width unsigned integers in byte order: big-endian (network order: the wire formats,
// hashed payloads) and little-endian (file formats, nonces). The one codec every module uses;
// callers check lengths before loading.
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"

namespace swarmd {

// The low `n` bytes of `v`, most significant first (n <= 8).
inline void store_be(std::uint8_t* p, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
}
inline std::uint64_t load_be(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}
inline void store_le(std::uint8_t* p, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t load_le(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}

template <std::unsigned_integral T>
void store_be(std::uint8_t* p, T v) noexcept {
    store_be(p, v, sizeof(T));
}
template <std::unsigned_integral T>
T load_be(const std::uint8_t* p) noexcept {
    return static_cast<T>(load_be(p, sizeof(T)));
}
template <std::unsigned_integral T>
void store_le(std::uint8_t* p, T v) noexcept {
    store_le(p, v, sizeof(T));
}
template <std::unsigned_integral T>
T load_le(const std::uint8_t* p) noexcept {
    return static_cast<T>(load_le(p, sizeof(T)));
}

// Appends sizeof(T) bytes (or `n` for the width-taking overloads).
template <std::unsigned_integral T>
void append_be(Bytes& out, T v) {
    out.resize(out.size() + sizeof(T));
    store_be(out.data() + out.size() - sizeof(T), v);
}
template <std::unsigned_integral T>
void append_le(Bytes& out, T v) {
    out.resize(out.size() + sizeof(T));
    store_le(out.data() + out.size() - sizeof(T), v);
}
inline void append_be(Bytes& out, std::uint64_t v, std::size_t n) {
    out.resize(out.size() + n);
    store_be(out.data() + out.size() - n, v, n);
}
inline void append_le(Bytes& out, std::uint64_t v, std::size_t n) {
    out.resize(out.size() + n);
    store_le(out.data() + out.size() - n, v, n);
}

}  // namespace swarmd
