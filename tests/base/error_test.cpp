// The error category every module's enum uses, shown on the base library's own enum.
#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "base/error.hpp"

using namespace swarmd;

TEST_CASE("an enum error category names each value and converts to std::error_code", "[error]") {
    const std::error_code ec = EncodingErrc::bad_hex;
    CHECK(ec.category().name() == std::string("encoding"));
    CHECK(ec.message() == "invalid hex string");
    CHECK(ec == EncodingErrc::bad_hex);
    CHECK(ec != EncodingErrc::bad_base58);
    CHECK(std::error_code(999, encoding_category()).message() == "unknown encoding error");
    // The decoders return them.
    CHECK(hex_decode("zz").error() == EncodingErrc::bad_hex);
    CHECK(base32_decode("1").error() == EncodingErrc::bad_base32);
    CHECK(base58_decode(std::string(kMaxEncodedLength + 1, '1')).error() == EncodingErrc::too_long);
}
