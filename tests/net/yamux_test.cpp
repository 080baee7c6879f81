#include <catch2/catch.hpp>

#include <map>

#include "net/error.hpp"
#include "net/yamux.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace std::chrono_literals;
using Kind = YamuxEvent::Kind;

namespace {

struct Frame {
    std::uint8_t version, type;
    std::uint16_t flags;
    std::uint32_t id, length;
};

Bytes frame(std::uint8_t type, std::uint16_t flags, std::uint32_t id, std::uint32_t length,
            ByteSpan payload = {}) {
    Bytes out = {0,
                 type,
                 static_cast<std::uint8_t>(flags >> 8),
                 static_cast<std::uint8_t>(flags),
                 static_cast<std::uint8_t>(id >> 24),
                 static_cast<std::uint8_t>(id >> 16),
                 static_cast<std::uint8_t>(id >> 8),
                 static_cast<std::uint8_t>(id),
                 static_cast<std::uint8_t>(length >> 24),
                 static_cast<std::uint8_t>(length >> 16),
                 static_cast<std::uint8_t>(length >> 8),
                 static_cast<std::uint8_t>(length)};
    append(out, payload);
    return out;
}

// Splits a session's output into frames; take_output() always holds whole frames.
std::vector<Frame> frames_of(ByteSpan out) {
    std::vector<Frame> frames;
    while (!out.empty()) {
        REQUIRE(out.size() >= 12);
        Frame f{out[0], out[1], static_cast<std::uint16_t>((out[2] << 8) | out[3]),
                (std::uint32_t{out[4]} << 24) | (std::uint32_t{out[5]} << 16) |
                    (std::uint32_t{out[6]} << 8) | out[7],
                (std::uint32_t{out[8]} << 24) | (std::uint32_t{out[9]} << 16) |
                    (std::uint32_t{out[10]} << 8) | out[11]};
        frames.push_back(f);
        const std::size_t body = f.type == 0 ? f.length : 0;
        REQUIRE(out.size() >= 12 + body);
        out = out.subspan(12 + body);
    }
    return frames;
}

std::vector<YamuxEvent> of_kind(const std::vector<YamuxEvent>& events, Kind kind) {
    std::vector<YamuxEvent> out;
    for (const auto& e : events) {
        if (e.kind == kind) out.push_back(e);
    }
    return out;
}

// Two sessions joined in memory; bytes move in chunks of `chunk`.
struct Wire {
    explicit Wire(YamuxOptions client_opts = {}, YamuxOptions server_opts = {})
        : a((client_opts.client = true, client_opts)),
          b((server_opts.client = false, server_opts)) {}

    YamuxSession a;  // client (dialer)
    YamuxSession b;  // server
    std::vector<YamuxEvent> ea, eb;
    std::map<std::uint32_t, Bytes> received_a, received_b;
    std::size_t chunk = 1 << 20;
    YamuxClock::time_point now{};
    std::size_t max_data_frame = 0;

    void deliver(YamuxSession& to, ByteSpan bytes, std::vector<YamuxEvent>& events,
                 std::map<std::uint32_t, Bytes>& received) {
        for (const auto& f : frames_of(bytes)) {
            if (f.type == 0) max_data_frame = std::max<std::size_t>(max_data_frame, f.length);
            // js-libp2p-yamux loses the payload of a Data frame carrying FIN.
            if (f.type == 0 && f.length > 0) CHECK((f.flags & 0x4) == 0);
        }
        for (std::size_t i = 0; i < bytes.size(); i += chunk) {
            auto evs = to.feed(bytes.subspan(i, std::min(chunk, bytes.size() - i)), now);
            for (auto& e : evs) {
                if (e.kind == Kind::data) append(received[e.stream_id], e.data);
                events.push_back(std::move(e));
            }
        }
    }

    void pump() {
        for (int round = 0; round < 100000; ++round) {
            Bytes oa = a.take_output();
            Bytes ob = b.take_output();
            if (oa.empty() && ob.empty()) return;
            deliver(b, oa, eb, received_b);
            deliver(a, ob, ea, received_a);
        }
        FAIL("sessions never went quiet");
    }
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + seed);
    return out;
}

}  // namespace

TEST_CASE("yamux streams open, carry data and half-close in any chunking", "[net][yamux]") {
    for (std::size_t chunk = 1; chunk <= 40; ++chunk) {
        INFO("chunk " << chunk);
        Wire w;
        w.chunk = chunk;
        auto id = w.a.open_stream();
        REQUIRE(id);
        CHECK(id.value() == 1);
        REQUIRE(w.a.write(id.value(), as_bytes("hello")));
        w.pump();
        REQUIRE(of_kind(w.eb, Kind::stream_opened).size() == 1);
        CHECK(of_kind(w.ea, Kind::stream_accepted).size() == 1);
        CHECK(as_string_view(w.received_b[1]) == "hello");

        auto sid = w.b.open_stream();
        REQUIRE(sid);
        CHECK(sid.value() == 2);
        REQUIRE(w.b.write(1, as_bytes("world")));
        REQUIRE(w.b.close(1));
        CHECK(w.b.write(1, as_bytes("late")).error() == Errc::stream_closed);
        w.pump();
        CHECK(as_string_view(w.received_a[1]) == "world");
        REQUIRE(of_kind(w.ea, Kind::remote_fin).size() == 1);
        // Half-closed: the client can still send.
        REQUIRE(w.a.write(1, as_bytes("more")));
        w.pump();
        CHECK(as_string_view(w.received_b[1]) == "hellomore");
        CHECK(w.a.has_stream(1));
        REQUIRE(w.a.close(1));
        w.pump();
        CHECK_FALSE(w.a.has_stream(1));
        CHECK_FALSE(w.b.has_stream(1));
        CHECK(of_kind(w.eb, Kind::stream_opened).size() == 1);
        CHECK(w.a.has_stream(2));
        CHECK(w.b.has_stream(2));
        CHECK(of_kind(w.ea, Kind::error).empty());
        CHECK(of_kind(w.eb, Kind::error).empty());
    }
}

TEST_CASE("yamux bulk transfer on several streams respects windows", "[net][yamux]") {
    Wire w;
    w.chunk = 1500;
    constexpr std::size_t kSize = 3 * 1024 * 1024;
    std::map<std::uint32_t, Bytes> sent;
    for (std::uint8_t i = 0; i < 4; ++i) {
        auto id = w.a.open_stream().value();
        sent[id] = pattern(kSize, i);
        REQUIRE(w.a.write(id, sent[id]));
        REQUIRE(w.a.close(id));
        // Nothing beyond the initial 256 KiB window leaves before the peer grants credit.
        CHECK(w.a.queued_bytes(id) == kSize - YamuxOptions::kInitialWindow);
        CHECK(w.a.send_window(id) == 0);
    }
    w.pump();
    CHECK(of_kind(w.eb, Kind::error).empty());  // the receiver enforces its windows
    for (const auto& [id, data] : sent) {
        INFO("stream " << id);
        CHECK(w.received_b[id] == data);
        // Without an RTT estimate the windows never grow.
    }
    CHECK(of_kind(w.eb, Kind::remote_fin).size() == 4);
    CHECK(w.max_data_frame == YamuxOptions::kDefaultMaxFrameData);
    // Echo back on the server's side of each stream, then both sides are closed.
    for (const auto& [id, data] : sent) {
        REQUIRE(w.b.write(id, ByteSpan(data).first(500'000)));
        REQUIRE(w.b.close(id));
    }
    w.pump();
    for (const auto& [id, data] : sent)
        CHECK(w.received_a[id] == Bytes(data.begin(), data.begin() + 500'000));
    CHECK(w.a.stream_count() == 0);
    CHECK(w.b.stream_count() == 0);
}

TEST_CASE("yamux receive window grows to 16 MiB when the RTT says the window limits",
          "[net][yamux]") {
    Wire w;
    REQUIRE(w.b.ping(w.now));
    w.now += 10ms;
    w.pump();
    auto rtts = of_kind(w.eb, Kind::ping_rtt);
    REQUIRE(rtts.size() == 1);
    CHECK(rtts[0].rtt == 10ms);
    REQUIRE(w.b.rtt());

    auto id = w.a.open_stream().value();
    const Bytes data = pattern(24 * 1024 * 1024, 9);
    REQUIRE(w.a.write(id, data));
    w.pump();  // all at the same instant: far quicker than 4 RTTs
    CHECK(of_kind(w.eb, Kind::error).empty());
    CHECK(w.received_b[id] == data);
    CHECK(w.b.receive_window(id) == YamuxOptions::kDefaultMaxWindow);
}

TEST_CASE("yamux window stays put when the reader is slow", "[net][yamux]") {
    Wire w;
    REQUIRE(w.b.ping(w.now));
    w.now += 1ms;
    w.pump();
    auto id = w.a.open_stream().value();
    w.pump();
    std::size_t total = 0;
    for (int i = 0; i < 40; ++i) {
        w.now += 100ms;  // every window's worth takes far longer than 4 RTTs
        REQUIRE(w.a.write(id, pattern(64 * 1024, 1)));
        w.pump();
        total += 64 * 1024;
    }
    CHECK(w.received_b[id].size() == total);
    CHECK(w.b.receive_window(id) == YamuxOptions::kInitialWindow);
}

TEST_CASE("yamux manual consume holds the sender back", "[net][yamux]") {
    YamuxOptions server;
    server.auto_consume = false;
    Wire w({}, server);
    auto id = w.a.open_stream().value();
    REQUIRE(w.a.write(id, pattern(1024 * 1024, 3)));
    w.pump();
    CHECK(w.received_b[id].size() == YamuxOptions::kInitialWindow);
    CHECK(w.a.queued_bytes(id) == 1024 * 1024 - YamuxOptions::kInitialWindow);
    CHECK(w.b.consume(id, YamuxOptions::kInitialWindow + 1).error() == Errc::invalid_state);
    REQUIRE(w.b.consume(id, YamuxOptions::kInitialWindow));
    w.pump();
    CHECK(w.received_b[id].size() == 2 * YamuxOptions::kInitialWindow);
}

TEST_CASE("yamux reset reaches the peer and later frames are ignored", "[net][yamux]") {
    Wire w;
    auto id = w.a.open_stream().value();
    REQUIRE(w.a.write(id, as_bytes("x")));
    w.pump();
    REQUIRE(w.b.write(id, as_bytes("in flight")));
    Bytes in_flight = w.b.take_output();
    REQUIRE(w.a.reset(id));
    CHECK_FALSE(w.a.has_stream(id));
    CHECK(w.a.write(id, as_bytes("x")).error() == Errc::unknown_stream);
    // Data the server sent before it saw the RST arrives for a stream that no longer exists.
    auto evs = w.a.feed(in_flight, w.now);
    CHECK(evs.empty());
    w.pump();
    REQUIRE(of_kind(w.eb, Kind::stream_reset).size() == 1);
    CHECK_FALSE(w.b.has_stream(id));
    CHECK(w.b.stream_count() == 0);
    CHECK(of_kind(w.ea, Kind::error).empty());
}

TEST_CASE("yamux answers pings and reports go-away", "[net][yamux]") {
    Wire w;
    REQUIRE(w.a.ping(w.now));
    auto out = frames_of(w.a.take_output());
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == 2);
    CHECK(out[0].flags == 1);
    auto evs = w.b.feed(frame(2, 1, 0, out[0].length), w.now);
    CHECK(evs.empty());
    auto reply = frames_of(w.b.take_output());
    REQUIRE(reply.size() == 1);
    CHECK(reply[0].type == 2);
    CHECK(reply[0].flags == 2);
    CHECK(reply[0].length == out[0].length);
    // An unsolicited ACK is ignored.
    CHECK(w.a.feed(frame(2, 2, 0, 12345), w.now).empty());

    w.b.go_away();
    w.pump();
    auto ga = of_kind(w.ea, Kind::go_away);
    REQUIRE(ga.size() == 1);
    CHECK(ga[0].go_away_code == 0);
    CHECK(w.a.open_stream().error() == Errc::go_away_received);
    CHECK(w.b.open_stream().error() == Errc::session_closed);
    // A SYN after our GoAway is refused with RST.
    w.b.feed(frame(1, 1, 1, 0), w.now);
    auto refused = frames_of(w.b.take_output());
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].flags == 8);
    CHECK_FALSE(w.b.has_stream(1));
}

TEST_CASE("yamux accepts go-style control frames", "[net][yamux]") {
    YamuxOptions o;
    o.client = false;
    YamuxSession s(o);
    const auto now = YamuxClock::time_point{};
    // SYN on a WindowUpdate with an additive delta of 1 MiB.
    auto evs = s.feed(frame(1, 1, 1, 1024 * 1024), now);
    REQUIRE(of_kind(evs, Kind::stream_opened).size() == 1);
    CHECK(s.send_window(1) == YamuxOptions::kInitialWindow + 1024 * 1024);
    auto ack = frames_of(s.take_output());
    REQUIRE(ack.size() == 1);
    CHECK(ack[0].type == 1);
    CHECK(ack[0].flags == 2);
    CHECK(ack[0].id == 1);
    // SYN on a Data frame with payload, then FIN on a zero-length WindowUpdate.
    Bytes bytes = frame(0, 1, 3, 3, as_bytes("abc"));
    append(bytes, frame(1, 4, 3, 0));
    append(bytes, frame(1, 8, 1, 0));  // RST on a WindowUpdate
    evs = s.feed(bytes, now);
    REQUIRE(of_kind(evs, Kind::stream_opened).size() == 1);
    REQUIRE(of_kind(evs, Kind::data).size() == 1);
    CHECK(as_string_view(of_kind(evs, Kind::data)[0].data) == "abc");
    CHECK(of_kind(evs, Kind::remote_fin).size() == 1);
    CHECK(of_kind(evs, Kind::stream_reset).size() == 1);
    CHECK_FALSE(s.has_stream(1));
    // FIN carried on the last Data frame.
    evs = s.feed(frame(0, 1 | 4, 5, 2, as_bytes("hi")), now);
    CHECK(of_kind(evs, Kind::remote_fin).size() == 1);
    // Frames for unknown streams, data included, are skipped without breaking the parse.
    Bytes unknown = frame(0, 0, 77, 5, as_bytes("zzzzz"));
    append(unknown, frame(1, 0, 79, 1000));
    append(unknown, frame(1, 8, 81, 0));
    append(unknown, frame(0, 0, 5, 0));
    evs = s.feed(unknown, now);
    CHECK(evs.empty());
    CHECK_FALSE(s.error());
    // Data after the remote's FIN resets that stream only.
    evs = s.feed(frame(0, 0, 5, 1, as_bytes("!")), now);
    CHECK(of_kind(evs, Kind::stream_reset).size() == 1);
    CHECK_FALSE(s.error());
}

TEST_CASE("yamux hostile input fails the session with a typed error and GoAway", "[net][yamux]") {
    const auto now = YamuxClock::time_point{};
    auto expect_failure = [&](const Bytes& input, Errc expected, bool client = false,
                              bool auto_consume = true) {
        YamuxOptions o;
        o.client = client;
        o.auto_consume = auto_consume;
        YamuxSession s(o);
        auto evs = s.feed(input, now);
        auto errors = of_kind(evs, Kind::error);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].error == expected);
        CHECK(s.error() == expected);
        auto out = frames_of(s.take_output());
        REQUIRE_FALSE(out.empty());
        CHECK(out.back().type == 3);
        CHECK(out.back().length == 1);  // protocol error
        // The session stays failed.
        CHECK(of_kind(s.feed(frame(2, 1, 0, 1), now), Kind::error).size() == 1);
        CHECK(s.open_stream().error() == Errc::session_closed);
    };
    SECTION("window violation in one frame") {
        Bytes in = frame(1, 1, 1, 0);
        Bytes big = frame(0, 0, 1, YamuxOptions::kInitialWindow + 1);
        big.resize(big.size() + YamuxOptions::kInitialWindow + 1);
        append(in, big);
        expect_failure(in, Errc::window_exceeded);
    }
    SECTION("window violation across frames without an update") {
        // With auto_consume off no credit goes back, so 300 000 bytes exceed 256 KiB.
        Bytes in = frame(1, 1, 1, 0);
        for (int i = 0; i < 5; ++i) {
            Bytes f = frame(0, 0, 1, 60'000);
            f.resize(f.size() + 60'000);
            append(in, f);
        }
        expect_failure(in, Errc::window_exceeded, false, false);
    }
    SECTION("bad version") {
        Bytes in = frame(2, 1, 0, 1);
        in[0] = 1;
        expect_failure(in, Errc::bad_frame_version);
    }
    SECTION("bad type") { expect_failure(frame(4, 0, 0, 0), Errc::bad_frame_type); }
    SECTION("data on the session id") { expect_failure(frame(0, 0, 0, 0), Errc::protocol_error); }
    SECTION("window update on the session id") {
        expect_failure(frame(1, 0, 0, 5), Errc::protocol_error);
    }
    SECTION("SYN with our own parity") {
        expect_failure(frame(1, 1, 2, 0), Errc::protocol_error);
        expect_failure(frame(1, 1, 1, 0), Errc::protocol_error, true);
    }
    SECTION("duplicate SYN") {
        Bytes in = frame(1, 1, 1, 0);
        append(in, frame(1, 1, 1, 0));
        expect_failure(in, Errc::protocol_error);
    }
    SECTION("frame length beyond the largest window") {
        expect_failure(frame(0, 0, 1, 0xffffffff), Errc::message_too_large);
    }
}

TEST_CASE("yamux refuses a stream flood beyond the limit", "[net][yamux]") {
    YamuxOptions client;
    client.max_outbound_streams = 1000;
    YamuxOptions server;
    server.max_inbound_streams = 64;
    Wire w(client, server);
    for (int i = 0; i < 100; ++i) REQUIRE(w.a.open_stream());
    w.pump();
    CHECK(of_kind(w.eb, Kind::stream_opened).size() == 64);
    CHECK(w.b.stream_count() == 64);
    CHECK(of_kind(w.ea, Kind::stream_accepted).size() == 64);
    CHECK(of_kind(w.ea, Kind::stream_reset).size() == 36);
    CHECK(w.a.stream_count() == 64);
    CHECK(of_kind(w.eb, Kind::error).empty());
    // Closing one frees a slot.
    REQUIRE(w.a.reset(1));
    w.pump();
    REQUIRE(w.a.open_stream());
    w.pump();
    CHECK(of_kind(w.eb, Kind::stream_opened).size() == 65);

    YamuxOptions limited;
    limited.max_outbound_streams = 2;
    YamuxSession s(limited);
    REQUIRE(s.open_stream());
    REQUIRE(s.open_stream());
    CHECK(s.open_stream().error() == Errc::too_many_streams);
}

TEST_CASE("yamux returns credit once half the window is consumed", "[net][yamux]") {
    YamuxOptions o;
    o.client = false;
    YamuxSession s(o);
    const auto now = YamuxClock::time_point{};
    s.feed(frame(1, 1, 1, 0), now);
    (void)s.take_output();  // the ACK
    const Bytes chunk(YamuxOptions::kInitialWindow / 2 - 1, 7);
    s.feed(frame(0, 0, 1, static_cast<std::uint32_t>(chunk.size()), chunk), now);
    CHECK(s.take_output().empty());  // just under half: no update yet
    const Bytes one(1, 7);
    s.feed(frame(0, 0, 1, 1, one), now);
    auto out = frames_of(s.take_output());
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == 1);
    CHECK(out[0].id == 1);
    CHECK(out[0].length == YamuxOptions::kInitialWindow / 2);
    // With the credit back the peer may again send a full window.
    Bytes full(YamuxOptions::kInitialWindow, 1);
    auto evs = s.feed(frame(0, 0, 1, YamuxOptions::kInitialWindow, full), now);
    CHECK(of_kind(evs, Kind::error).empty());
}
