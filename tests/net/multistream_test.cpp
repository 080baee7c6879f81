#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "net/error.hpp"
#include "net/multistream.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {

Bytes framed(std::initializer_list<std::string_view> messages) {
    Bytes out;
    for (auto m : messages) multistream_append(out, m);
    return out;
}

// Feeds `data` to `peer` in chunks of `chunk` bytes, collecting output until agreement.
template <class Peer>
Result<MultistreamStep> feed_chunked(Peer& peer, ByteSpan data, std::size_t chunk) {
    MultistreamStep total;
    for (std::size_t i = 0; i < data.size(); i += chunk) {
        auto part = data.subspan(i, std::min(chunk, data.size() - i));
        if (peer.agreed()) return total;  // caller handles the leftover
        auto step = peer.feed(part);
        if (!step) return step.error();
        append(total.output, step.value().output);
        total.agreed = total.agreed || step.value().agreed;
    }
    return total;
}

}  // namespace

TEST_CASE("multistream message framing matches the spec examples", "[net][multistream]") {
    CHECK(hex_encode(framed({"na"})) == "036e610a");
    Bytes header = framed({kMultistreamProtocol});
    CHECK(header.size() == 20);
    CHECK(header[0] == 0x13);
    CHECK(header.back() == '\n');
}

TEST_CASE("multistream dialer sends header and proposal in one write", "[net][multistream]") {
    MultistreamDialer dialer({"/noise"});
    Bytes first = dialer.start();
    CHECK(first == framed({kMultistreamProtocol, "/noise"}));
    CHECK(first.size() == 28);  // what a js dialer sends too
    CHECK(dialer.start().empty());
}

TEST_CASE("multistream dialer and listener agree, fed in every chunk size", "[net][multistream]") {
    const Bytes app = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a};
    for (std::size_t chunk = 1; chunk <= 64; ++chunk) {
        INFO("chunk " << chunk);
        MultistreamDialer dialer({"/tls/1.0.0", "/noise"});
        MultistreamListener listener({"/noise", "/other"});

        // Dialer's first write plus optimistic application bytes after it.
        Bytes to_listener = dialer.start();
        auto l1 = feed_chunked(listener, to_listener, chunk);
        REQUIRE(l1);
        CHECK(l1.value().output == framed({kMultistreamProtocol, "na"}));
        CHECK_FALSE(listener.agreed());

        // Dialer gets header + na, proposes the next protocol.
        auto d1 = feed_chunked(dialer, l1.value().output, chunk);
        REQUIRE(d1);
        CHECK(d1.value().output == framed({"/noise"}));
        CHECK_FALSE(dialer.agreed());

        Bytes second = d1.value().output;
        append(second, app);
        // Feed byte ranges until agreement, then the remainder arrives as leftover + later bytes.
        Bytes echo;
        std::size_t i = 0;
        for (; i < second.size() && !listener.agreed(); i += chunk) {
            auto part = ByteSpan(second).subspan(i, std::min(chunk, second.size() - i));
            auto step = listener.feed(part);
            REQUIRE(step);
            append(echo, step.value().output);
        }
        REQUIRE(listener.agreed());
        CHECK(listener.protocol() == "/noise");
        Bytes got = listener.take_leftover();
        if (i < second.size()) got.insert(got.end(), second.begin() + i, second.end());
        CHECK(got == app);
        CHECK(echo == framed({"/noise"}));

        auto d2 = feed_chunked(dialer, echo, chunk);
        REQUIRE(d2);
        CHECK(dialer.agreed());
        CHECK(dialer.protocol() == "/noise");
        CHECK(dialer.take_leftover().empty());
    }
}

TEST_CASE("multistream listener parses pipelined messages from one read", "[net][multistream]") {
    MultistreamListener listener({"/yamux/1.0.0"});
    Bytes in = framed({kMultistreamProtocol, "/mplex/6.7.0", "/yamux/1.0.0"});
    in.push_back(0x00);  // first byte of a yamux header
    auto step = listener.feed(in);
    REQUIRE(step);
    CHECK(step.value().agreed);
    CHECK(step.value().output == framed({kMultistreamProtocol, "na", "/yamux/1.0.0"}));
    CHECK(listener.take_leftover() == Bytes{0x00});
    CHECK(listener.feed(Bytes{1}).error() == Errc::invalid_state);
}

TEST_CASE("multistream dialer receives header, echo and data in one read", "[net][multistream]") {
    MultistreamDialer dialer({"/ipfs/id/1.0.0"});
    dialer.start();
    Bytes in = framed({kMultistreamProtocol, "/ipfs/id/1.0.0"});
    in.insert(in.end(), {1, 2, 3});
    auto step = dialer.feed(in);
    REQUIRE(step);
    CHECK(step.value().agreed);
    CHECK(step.value().output.empty());
    CHECK(dialer.take_leftover() == Bytes{1, 2, 3});
}

TEST_CASE("multistream failures carry typed errors", "[net][multistream]") {
    SECTION("all proposals refused") {
        MultistreamDialer dialer({"/a", "/b"});
        dialer.start();
        auto s = dialer.feed(framed({kMultistreamProtocol, "na"}));
        REQUIRE(s);
        CHECK(s.value().output == framed({"/b"}));
        CHECK(dialer.feed(framed({"na"})).error() == Errc::protocol_not_supported);
        CHECK(dialer.feed(framed({"na"})).error() == Errc::invalid_state);
    }
    SECTION("lazy dialer sees a late na") {
        MultistreamDialer dialer({"/only"});
        dialer.start();
        CHECK(dialer.feed(framed({kMultistreamProtocol, "na"})).error() ==
              Errc::protocol_not_supported);
    }
    SECTION("wrong first message") {
        MultistreamListener listener({"/a"});
        CHECK(listener.feed(framed({"/a"})).error() == Errc::bad_multistream_header);
        MultistreamDialer dialer({"/a"});
        dialer.start();
        CHECK(dialer.feed(framed({"/multistream/2.0.0"})).error() == Errc::bad_multistream_header);
    }
    SECTION("a first message that cannot be the header fails without waiting for its length") {
        // Garbage (a peer in another private network) announcing a length not yet received.
        MultistreamListener listener({"/a"});
        CHECK(listener.feed(Bytes{0x40, '/', 'm'}).error() == Errc::bad_multistream_header);
        MultistreamDialer dialer({"/a"});
        dialer.start();
        CHECK(dialer.feed(Bytes{0x13, '/', 'x'}).error() == Errc::bad_multistream_header);
        // A true header, fed byte by byte, still waits for the rest.
        MultistreamListener patient({"/a"});
        for (std::uint8_t b : framed({kMultistreamProtocol, "/a"})) {
            auto step = patient.feed(Bytes{b});
            REQUIRE(step);
        }
        CHECK(patient.agreed());
    }
    SECTION("unexpected answer") {
        MultistreamDialer dialer({"/a"});
        dialer.start();
        CHECK(dialer.feed(framed({kMultistreamProtocol, "/b"})).error() == Errc::protocol_error);
    }
    SECTION("message over 1024 bytes is rejected before it arrives") {
        MultistreamListener listener({"/a"});
        Bytes in;
        varint_append(in, 1025);
        CHECK(listener.feed(in).error() == Errc::message_too_large);
        MultistreamListener ok({std::string(1023, 'x')});
        auto step = ok.feed(framed({kMultistreamProtocol, std::string(1023, 'x')}));
        REQUIRE(step);
        CHECK(step.value().agreed);
    }
    SECTION("huge or malformed varint") {
        MultistreamListener listener({"/a"});
        CHECK(listener.feed(Bytes(10, 0xff)).error() == Errc::bad_varint);
        MultistreamListener l2({"/a"});
        CHECK(l2.feed(Bytes{0x80, 0x00}).error() == Errc::bad_varint);
    }
    SECTION("missing newline or empty message") {
        MultistreamListener listener({"/a"});
        CHECK(listener.feed(Bytes{0x02, 'n', 'a'}).error() == Errc::protocol_error);
        MultistreamListener l2({"/a"});
        CHECK(l2.feed(Bytes{0x00}).error() == Errc::protocol_error);
    }
    SECTION("endless proposals") {
        MultistreamListener listener({"/a"});
        Bytes in = framed({kMultistreamProtocol});
        for (std::size_t i = 0; i <= MultistreamOptions::kDefaultMaxProposals; ++i) {
            multistream_append(in, "/nope");
        }
        CHECK(listener.feed(in).error() == Errc::protocol_error);
    }
    SECTION("ls and na are never agreed") {
        MultistreamListener listener({"ls", "/a"});
        auto s = listener.feed(framed({kMultistreamProtocol, "ls"}));
        REQUIRE(s);
        CHECK_FALSE(s.value().agreed);
        CHECK(s.value().output == framed({kMultistreamProtocol, "na"}));
    }
}
