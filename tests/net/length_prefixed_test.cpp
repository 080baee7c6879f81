// The uvarint length-prefixed framing shared by identify and gossipsub streams.
#include <catch2/catch.hpp>

#include "base/varint.hpp"
#include "net/error.hpp"
#include "net/length_prefixed.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {

// Feeds `wire` in chunks of `chunk` bytes and collects every message.
std::vector<Bytes> decode_in_chunks(const Bytes& wire, std::size_t chunk,
                                    LengthPrefixedDecoder& decoder) {
    std::vector<Bytes> got;
    for (std::size_t off = 0; off < wire.size(); off += chunk) {
        REQUIRE(decoder.feed(ByteSpan(wire).subspan(off, std::min(chunk, wire.size() - off))));
        for (;;) {
            auto next = decoder.next();
            REQUIRE(next);
            if (!next.value()) break;
            got.emplace_back(next.value()->begin(), next.value()->end());
        }
    }
    return got;
}

}  // namespace

TEST_CASE("length-prefixed messages round-trip in every chunk size", "[framing]") {
    Bytes wire;
    std::vector<Bytes> bodies;
    for (std::size_t n : {0u, 1u, 5u, 127u, 128u, 300u, 5000u}) {
        Bytes body(n);
        for (std::size_t i = 0; i < n; ++i) body[i] = static_cast<std::uint8_t>(i * 7 + n);
        append_length_prefixed(wire, body);
        bodies.push_back(body);
    }
    for (std::size_t chunk = 1; chunk <= wire.size();
         chunk = chunk < 40 ? chunk + 1 : chunk * 2 + 1) {
        INFO("chunk " << chunk);
        LengthPrefixedDecoder decoder(1 << 16);
        CHECK(decode_in_chunks(wire, chunk, decoder) == bodies);
        CHECK(decoder.buffered() == 0);
    }
}

TEST_CASE("an oversized message is refused on its prefix, before its body", "[framing]") {
    LengthPrefixedDecoder decoder(1000);
    Bytes prefix;
    varint_append(prefix, 1u << 30);  // a 1 GiB claim, with no body at all
    auto fed = decoder.feed(prefix);
    REQUIRE_FALSE(fed);
    CHECK(fed.error() == Errc::message_too_large);
    CHECK(decoder.buffered() <= prefix.size());
    // It stays failed.
    CHECK(decoder.feed(Bytes{0x01, 0x00}).error() == Errc::message_too_large);
    CHECK(decoder.next().error() == Errc::message_too_large);
}

TEST_CASE("a later oversized message in the same chunk is refused", "[framing]") {
    LengthPrefixedDecoder decoder(100);
    Bytes wire;
    append_length_prefixed(wire, Bytes(10, 1));
    varint_append(wire, 5000);
    REQUIRE(decoder.feed(wire));
    auto first = decoder.next();
    REQUIRE(first);
    REQUIRE(first.value());
    CHECK(first.value()->size() == 10);
    auto second = decoder.next();
    REQUIRE_FALSE(second);
    CHECK(second.error() == Errc::message_too_large);
}

TEST_CASE("malformed length prefixes are refused", "[framing]") {
    LengthPrefixedDecoder overlong(1 << 20);
    CHECK(overlong.feed(Bytes(10, 0xff)).error() == Errc::bad_varint);
    LengthPrefixedDecoder not_minimal(1 << 20);
    CHECK(not_minimal.feed(Bytes{0x80, 0x00}).error() == Errc::bad_varint);
}

TEST_CASE("a truncated message waits for more bytes", "[framing]") {
    LengthPrefixedDecoder truncated(1024);
    REQUIRE(truncated.feed(Bytes{0x05, 'a', 'b'}));
    auto next = truncated.next();
    REQUIRE(next);
    CHECK(!next.value());
    CHECK(truncated.buffered() == 3);
    REQUIRE(truncated.feed(Bytes{'c', 'd', 'e'}));
    next = truncated.next();
    REQUIRE(next);
    REQUIRE(next.value());
    CHECK(Bytes(next.value()->begin(), next.value()->end()) == Bytes{'a', 'b', 'c', 'd', 'e'});
}
