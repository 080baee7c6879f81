#pragma once
// yamux `/yamux/1.0.0` (libp2p/specs yamux/README.md), sans-I/O. The session is fed bytes and
// the current time and returns events; frames to send accumulate until take_output().
//
// Frames: 12-byte big-endian header ver(0) | type | flags | stream id | length, then `length`
// payload bytes for Data frames. The connection's dialer is the client and opens odd stream ids;
// the listener opens even ones. Each stream starts with a 256 KiB window per direction; a window
// update sent with SYN or ACK adds to it. Only Data payload counts against a window. The receive
// window is enforced (a violation is a protocol error answered with GoAway), credit goes back
// once half the window has been consumed, and the window doubles up to 16 MiB when a window's
// worth is consumed within 4 RTTs (RTT from yamux pings). Writes never exceed the peer's window:
// they queue per stream and go out as the peer grants credit, in Data frames of at most 64 KiB.
// Windows only grow once an RTT is known, so the host should ping() when the session starts (and
// every 30 s as keepalive, as go and js do).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::net {

inline constexpr std::string_view kYamuxProtocolId = "/yamux/1.0.0";

using YamuxClock = std::chrono::steady_clock;

struct YamuxOptions {
    static constexpr std::uint32_t kInitialWindow = 256 * 1024;  // fixed by the spec
    static constexpr std::uint32_t kDefaultMaxWindow = 16 * 1024 * 1024;
    static constexpr std::size_t kDefaultMaxFrameData = 64 * 1024;
    static constexpr std::size_t kDefaultMaxInboundStreams = 256;
    static constexpr std::size_t kDefaultMaxOutboundStreams = 256;
    static constexpr std::size_t kDefaultMaxPendingPings = 16;

    // true for the connection's dialer (odd stream ids).
    bool client = true;
    // Largest receive window a stream may grow to.
    std::uint32_t max_window = kDefaultMaxWindow;
    // Largest Data frame this side sends.
    std::size_t max_frame_data = kDefaultMaxFrameData;
    // Open streams the remote may have at once; excess SYNs are answered with RST.
    std::size_t max_inbound_streams = kDefaultMaxInboundStreams;
    // Open streams this side may have at once; open_stream() fails beyond it.
    std::size_t max_outbound_streams = kDefaultMaxOutboundStreams;
    std::size_t max_pending_pings = kDefaultMaxPendingPings;
    // When false, received data counts as consumed only after consume() is called, so a slow
    // reader holds back the sender.
    bool auto_consume = true;
};

// GoAway codes.
enum class YamuxGoAway : std::uint32_t { normal = 0, protocol_error = 1, internal_error = 2 };

struct YamuxEvent {
    enum class Kind {
        stream_opened,    // the remote opened stream_id (already acknowledged)
        stream_accepted,  // the remote acknowledged our stream stream_id
        data,             // data for stream_id
        remote_fin,       // the remote closed its side of stream_id
        stream_reset,     // the remote reset or refused stream_id
        ping_rtt,         // an answer to ping(): rtt
        go_away,          // the remote will accept no new streams: go_away_code
        error,            // the session failed: error; a GoAway is queued, close the connection
    };
    Kind kind;
    std::uint32_t stream_id = 0;
    Bytes data;
    std::chrono::nanoseconds rtt{};
    std::uint32_t go_away_code = 0;
    std::error_code error;
};

class YamuxSession {
  public:
    explicit YamuxSession(YamuxOptions options = {});

    // Consumes bytes from the connection in any chunking.
    std::vector<YamuxEvent> feed(ByteSpan in, YamuxClock::time_point now);

    Result<std::uint32_t> open_stream();
    // Queues bytes; they leave as the peer's window allows. The queue is unbounded: the host
    // applies backpressure with queued_bytes().
    Result<void> write(std::uint32_t id, ByteSpan data);
    // Half-close: FIN follows the queued data.
    Result<void> close(std::uint32_t id);
    // Abort the stream in both directions.
    Result<void> reset(std::uint32_t id);
    // With auto_consume off: the application has processed `bytes` of stream id.
    Result<void> consume(std::uint32_t id, std::size_t bytes);
    // Sends a Ping; its answer comes back as a ping_rtt event.
    Result<void> ping(YamuxClock::time_point now);
    // Announces that no new streams will be accepted.
    void go_away(YamuxGoAway code = YamuxGoAway::normal);

    // Data payload bytes the session may still emit before more is allowed; data beyond it waits
    // in the streams' queues, as if the peer's window were shut. Control frames are not counted.
    // Setting it sends what queued data now fits. Unlimited by default.
    void allow_data(std::size_t bytes);

    // Frames to write to the connection.
    Bytes take_output() { return std::move(m_output); }
    bool has_output() const noexcept { return !m_output.empty(); }

    bool is_client() const noexcept { return m_options.client; }
    std::error_code error() const noexcept { return m_error; }
    bool remote_went_away() const noexcept { return m_remote_go_away; }
    std::size_t stream_count() const noexcept { return m_streams.size(); }
    bool has_stream(std::uint32_t id) const { return m_streams.contains(id); }
    // Bytes written but not yet sent for lack of window.
    std::size_t queued_bytes(std::uint32_t id) const;
    // Credit the peer has granted on stream id.
    std::uint64_t send_window(std::uint32_t id) const;
    // The current receive window size of stream id.
    std::uint32_t receive_window(std::uint32_t id) const;
    std::optional<std::chrono::nanoseconds> rtt() const noexcept { return m_rtt; }

  private:
    struct Stream {
        bool outbound = false;
        bool acked = false;  // outbound: the remote's ACK arrived
        bool local_fin_requested = false;
        bool local_fin_sent = false;
        bool remote_fin = false;
        std::uint64_t send_window = YamuxOptions::kInitialWindow;
        Bytes send_queue;
        std::size_t send_head = 0;  // bytes of send_queue already sent
        std::uint32_t recv_window = YamuxOptions::kInitialWindow;
        std::uint64_t recv_credit = YamuxOptions::kInitialWindow;
        std::uint64_t unconsumed = 0;    // delivered, not yet consumed (auto_consume off)
        std::uint64_t consumed = 0;      // consumed, not yet credited back
        YamuxClock::time_point epoch{};  // when credit was last returned
    };

    void on_header(YamuxClock::time_point now, std::vector<YamuxEvent>& events);
    void on_frame_end(std::vector<YamuxEvent>& events);
    // Applies SYN/ACK of a Data or WindowUpdate frame; nullptr means skip the frame.
    Stream* open_or_find(std::uint16_t flags, std::vector<YamuxEvent>& events);
    void deliver(ByteSpan data, std::vector<YamuxEvent>& events);
    void fail(std::error_code ec, std::vector<YamuxEvent>& events);
    void send_header(std::uint8_t type, std::uint16_t flags, std::uint32_t id,
                     std::uint32_t length);
    // Sends as much of `data` as the window allows; returns the bytes sent.
    std::size_t send_data(std::uint32_t id, Stream& s, ByteSpan data);
    void flush(std::uint32_t id, Stream& s);
    void maybe_credit(std::uint32_t id, Stream& s);
    void remove_if_done(std::uint32_t id);
    void remove(std::uint32_t id);

    YamuxOptions m_options;
    std::unordered_map<std::uint32_t, Stream> m_streams;
    std::uint32_t m_next_id;
    std::size_t m_inbound = 0;
    std::size_t m_outbound = 0;
    Bytes m_output;
    std::size_t m_data_budget = SIZE_MAX;

    // Frame decoding state.
    std::array<std::uint8_t, 12> m_header{};
    std::size_t m_header_fill = 0;
    bool m_in_payload = false;
    std::uint8_t m_type = 0;
    std::uint16_t m_flags = 0;
    std::uint32_t m_stream_id = 0;
    std::uint32_t m_length = 0;
    std::uint32_t m_remaining = 0;
    bool m_skip = false;  // payload of a frame for an unknown stream

    YamuxClock::time_point m_now{};
    std::map<std::uint32_t, YamuxClock::time_point> m_pings;
    std::uint32_t m_next_ping = 1;
    std::optional<std::chrono::nanoseconds> m_rtt;
    bool m_local_go_away = false;
    bool m_remote_go_away = false;
    std::error_code m_error;
};

}  // namespace swarmd::net
