#include <catch2/catch.hpp>

#include "crypto/varint.hpp"
#include "net/gossipsub_error.hpp"
#include "net/gossipsub_framing.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;

TEST_CASE("frames round-trip in every chunk size", "[gossipsub][framing]") {
    Bytes stream;
    std::vector<Bytes> bodies;
    for (std::size_t n : {0u, 1u, 127u, 128u, 300u, 5000u}) {
        Bytes body(n);
        for (std::size_t i = 0; i < n; ++i) body[i] = static_cast<std::uint8_t>(i * 7 + n);
        append_frame(stream, body);
        bodies.push_back(body);
    }
    for (std::size_t chunk = 1; chunk <= stream.size(); chunk = chunk * 2 + 1) {
        FrameDecoder decoder(1 << 16);
        std::vector<Bytes> got;
        for (std::size_t off = 0; off < stream.size(); off += chunk) {
            const std::size_t len = std::min(chunk, stream.size() - off);
            REQUIRE(decoder.feed(ByteSpan(stream).subspan(off, len)));
            for (;;) {
                auto f = decoder.next();
                REQUIRE(f);
                if (!f.value()) break;
                got.emplace_back(f.value()->begin(), f.value()->end());
            }
        }
        CHECK(got == bodies);
        CHECK(decoder.buffered() == 0);
    }
}

TEST_CASE("an oversized frame is refused on its length prefix", "[gossipsub][framing]") {
    FrameDecoder decoder(1000);
    Bytes prefix;
    varint_append(prefix, 1001);
    // Only the prefix has arrived: the decoder must fail now, not wait for 1001 bytes.
    auto fed = decoder.feed(prefix);
    REQUIRE_FALSE(fed);
    CHECK(fed.error() == make_error_code(Errc::rpc_too_large));
    CHECK_FALSE(decoder.feed(Bytes{1, 2, 3}));
}

TEST_CASE("a later oversized frame in the same chunk is refused", "[gossipsub][framing]") {
    FrameDecoder decoder(100);
    Bytes stream;
    append_frame(stream, Bytes(10, 1));
    varint_append(stream, 5000);
    REQUIRE(decoder.feed(stream));
    auto first = decoder.next();
    REQUIRE(first);
    REQUIRE(first.value());
    CHECK(first.value()->size() == 10);
    auto second = decoder.next();
    REQUIRE_FALSE(second);
    CHECK(second.error() == make_error_code(Errc::rpc_too_large));
}

TEST_CASE("malformed length prefixes are refused", "[gossipsub][framing]") {
    FrameDecoder overlong(1 << 20);
    CHECK_FALSE(overlong.feed(Bytes(10, 0xff)));
    FrameDecoder not_minimal(1 << 20);
    CHECK_FALSE(not_minimal.feed(Bytes{0x80, 0x00}));
}
