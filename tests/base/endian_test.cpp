// The byte-order codec every wire and file format uses.
#include <catch2/catch.hpp>

#include "base/endian.hpp"

using namespace swarmd;

TEST_CASE("big-endian stores put the most significant byte first and load back", "[endian]") {
    Bytes out;
    append_be<std::uint16_t>(out, 0x0102);
    append_be<std::uint32_t>(out, 0x03040506);
    append_be<std::uint64_t>(out, 0x0708090a0b0c0d0eULL);
    append_be(out, 0x0f1011, 3);
    CHECK(out == Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
    CHECK(load_be<std::uint16_t>(&out[0]) == 0x0102);
    CHECK(load_be<std::uint32_t>(&out[2]) == 0x03040506);
    CHECK(load_be<std::uint64_t>(&out[6]) == 0x0708090a0b0c0d0eULL);
    CHECK(load_be(&out[14], 3) == 0x0f1011);
    // A width below the value's keeps its low bytes.
    std::uint8_t two[2];
    store_be(two, 0xabcdefULL, 2);
    CHECK(two[0] == 0xcd);
    CHECK(two[1] == 0xef);
}

TEST_CASE("little-endian stores put the least significant byte first and load back", "[endian]") {
    Bytes out;
    append_le<std::uint32_t>(out, 0x04030201);
    append_le<std::uint64_t>(out, 0x0c0b0a0908070605ULL);
    append_le(out, 0x0f0e0d, 3);
    CHECK(out == Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
    CHECK(load_le<std::uint32_t>(&out[0]) == 0x04030201);
    CHECK(load_le<std::uint64_t>(&out[4]) == 0x0c0b0a0908070605ULL);
    CHECK(load_le(&out[12], 3) == 0x0f0e0d);
    std::uint8_t max[8];
    store_le(max, ~std::uint64_t{0});
    CHECK(load_le<std::uint64_t>(max) == ~std::uint64_t{0});
    CHECK(load_be<std::uint64_t>(max) == ~std::uint64_t{0});
}
