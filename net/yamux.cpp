#include "net/yamux.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/endian.hpp"
#include "net/error.hpp"

namespace swarmd::net {
namespace {

constexpr std::uint8_t kVersion = 0;
constexpr std::uint8_t kTypeData = 0;
constexpr std::uint8_t kTypeWindowUpdate = 1;
constexpr std::uint8_t kTypePing = 2;
constexpr std::uint8_t kTypeGoAway = 3;

constexpr std::uint16_t kFlagSyn = 0x1;
constexpr std::uint16_t kFlagAck = 0x2;
constexpr std::uint16_t kFlagFin = 0x4;
constexpr std::uint16_t kFlagRst = 0x8;

constexpr std::size_t kHeaderSize = 12;
// A peer cannot push a send window past what a u32 length field can ever be spent against.
constexpr std::uint64_t kMaxSendWindow = 0xffffffffu;

YamuxEvent event(YamuxEvent::Kind kind, std::uint32_t id) {
    YamuxEvent e{};
    e.kind = kind;
    e.stream_id = id;
    return e;
}

}  // namespace

YamuxSession::YamuxSession(YamuxOptions options)
    : m_options(options), m_next_id(options.client ? 1 : 2) {
    if (m_options.max_window < YamuxOptions::kInitialWindow || m_options.max_frame_data == 0) {
        throw std::invalid_argument("yamux: max_window below 256 KiB or max_frame_data zero");
    }
}

void YamuxSession::send_header(std::uint8_t type, std::uint16_t flags, std::uint32_t id,
                               std::uint32_t length) {
    std::uint8_t h[kHeaderSize] = {kVersion, type};
    store_be(&h[2], flags);
    store_be(&h[4], id);
    store_be(&h[8], length);
    m_output.insert(m_output.end(), h, h + kHeaderSize);
}

void YamuxSession::fail(std::error_code ec, std::vector<YamuxEvent>& events) {
    m_error = ec;
    if (!m_local_go_away) {
        send_header(kTypeGoAway, 0, 0, static_cast<std::uint32_t>(YamuxGoAway::protocol_error));
        m_local_go_away = true;
    }
    auto e = event(YamuxEvent::Kind::error, m_stream_id);
    e.error = ec;
    events.push_back(std::move(e));
}

std::vector<YamuxEvent> YamuxSession::feed(ByteSpan in, YamuxClock::time_point now) {
    std::vector<YamuxEvent> events;
    m_now = now;
    if (m_error) {
        auto e = event(YamuxEvent::Kind::error, 0);
        e.error = m_error;
        events.push_back(std::move(e));
        return events;
    }
    while (!in.empty() && !m_error) {
        if (!m_in_payload) {
            const std::size_t n = std::min(kHeaderSize - m_header_fill, in.size());
            std::copy_n(in.begin(), n, m_header.begin() + m_header_fill);
            m_header_fill += n;
            in = in.subspan(n);
            if (m_header_fill < kHeaderSize) break;
            m_header_fill = 0;
            on_header(now, events);
        } else {
            const std::size_t n = std::min<std::size_t>(m_remaining, in.size());
            m_remaining -= static_cast<std::uint32_t>(n);
            if (!m_skip) deliver(in.first(n), events);
            in = in.subspan(n);
            if (m_remaining == 0) {
                m_in_payload = false;
                on_frame_end(events);
            }
        }
    }
    return events;
}

void YamuxSession::on_header(YamuxClock::time_point now, std::vector<YamuxEvent>& events) {
    const std::uint8_t version = m_header[0];
    m_type = m_header[1];
    m_flags = load_be<std::uint16_t>(&m_header[2]);
    m_stream_id = load_be<std::uint32_t>(&m_header[4]);
    m_length = load_be<std::uint32_t>(&m_header[8]);
    m_skip = false;
    if (version != kVersion) return fail(Errc::bad_frame_version, events);

    switch (m_type) {
        case kTypeData: {
            if (m_stream_id == 0) return fail(Errc::protocol_error, events);
            if (m_length > m_options.max_window) return fail(Errc::message_too_large, events);
            Stream* s = open_or_find(m_flags, events);
            if (m_error) return;
            if (s && s->remote_fin && m_length > 0) {
                // Data after the remote's FIN: the stream is broken, not the session.
                send_header(kTypeWindowUpdate, kFlagRst, m_stream_id, 0);
                events.push_back(event(YamuxEvent::Kind::stream_reset, m_stream_id));
                remove(m_stream_id);
                s = nullptr;
            }
            m_skip = s == nullptr;
            if (s) {
                if (m_length > s->recv_credit) return fail(Errc::window_exceeded, events);
                s->recv_credit -= m_length;
            }
            if (m_length == 0) {
                on_frame_end(events);
            } else {
                m_in_payload = true;
                m_remaining = m_length;
            }
            return;
        }
        case kTypeWindowUpdate: {
            if (m_stream_id == 0) return fail(Errc::protocol_error, events);
            Stream* s = open_or_find(m_flags, events);
            if (m_error) return;
            m_skip = s == nullptr;
            if (s) s->send_window = std::min(s->send_window + m_length, kMaxSendWindow);
            on_frame_end(events);
            if (auto it = m_streams.find(m_stream_id); it != m_streams.end()) {
                flush(m_stream_id, it->second);
                remove_if_done(m_stream_id);
            }
            return;
        }
        case kTypePing: {
            if (m_flags & kFlagSyn) {
                send_header(kTypePing, kFlagAck, 0, m_length);
            } else if (m_flags & kFlagAck) {
                if (auto it = m_pings.find(m_length); it != m_pings.end()) {
                    auto e = event(YamuxEvent::Kind::ping_rtt, 0);
                    e.rtt = std::chrono::duration_cast<std::chrono::nanoseconds>(now - it->second);
                    m_rtt = e.rtt;
                    m_pings.erase(it);
                    events.push_back(std::move(e));
                }
            }
            return;
        }
        case kTypeGoAway: {
            m_remote_go_away = true;
            auto e = event(YamuxEvent::Kind::go_away, 0);
            e.go_away_code = m_length;
            events.push_back(std::move(e));
            return;
        }
        default:
            return fail(Errc::bad_frame_type, events);
    }
}

YamuxSession::Stream* YamuxSession::open_or_find(std::uint16_t flags,
                                                 std::vector<YamuxEvent>& events) {
    const std::uint32_t id = m_stream_id;
    if (flags & kFlagSyn) {
        const bool remote_parity = (id % 2 == 1) != m_options.client;
        if (!remote_parity || m_streams.contains(id)) {
            fail(Errc::protocol_error, events);
            return nullptr;
        }
        if (m_local_go_away || m_inbound >= m_options.max_inbound_streams) {
            send_header(kTypeWindowUpdate, kFlagRst, id, 0);
            return nullptr;
        }
        Stream& s = m_streams[id];
        ++m_inbound;
        s.epoch = m_now;
        send_header(kTypeWindowUpdate, kFlagAck, id, s.recv_window - YamuxOptions::kInitialWindow);
        events.push_back(event(YamuxEvent::Kind::stream_opened, id));
        return &s;
    }
    auto it = m_streams.find(id);
    if (it == m_streams.end()) return nullptr;  // closed or never opened: ignore the frame
    Stream& s = it->second;
    if ((flags & kFlagAck) && s.outbound && !s.acked) {
        s.acked = true;
        events.push_back(event(YamuxEvent::Kind::stream_accepted, id));
    }
    return &s;
}

void YamuxSession::deliver(ByteSpan data, std::vector<YamuxEvent>& events) {
    auto it = m_streams.find(m_stream_id);
    if (it == m_streams.end()) return;
    Stream& s = it->second;
    if (!events.empty() && events.back().kind == YamuxEvent::Kind::data &&
        events.back().stream_id == m_stream_id) {
        append(events.back().data, data);
    } else {
        auto e = event(YamuxEvent::Kind::data, m_stream_id);
        e.data.assign(data.begin(), data.end());
        events.push_back(std::move(e));
    }
    if (m_options.auto_consume) {
        s.consumed += data.size();
        maybe_credit(m_stream_id, s);
    } else {
        s.unconsumed += data.size();
    }
}

void YamuxSession::on_frame_end(std::vector<YamuxEvent>& events) {
    if (m_skip || (m_type != kTypeData && m_type != kTypeWindowUpdate)) return;
    auto it = m_streams.find(m_stream_id);
    if (it == m_streams.end()) return;
    Stream& s = it->second;
    if (m_flags & kFlagRst) {
        events.push_back(event(YamuxEvent::Kind::stream_reset, m_stream_id));
        remove(m_stream_id);
        return;
    }
    if ((m_flags & kFlagFin) && !s.remote_fin) {
        s.remote_fin = true;
        events.push_back(event(YamuxEvent::Kind::remote_fin, m_stream_id));
        remove_if_done(m_stream_id);
    }
}

void YamuxSession::maybe_credit(std::uint32_t id, Stream& s) {
    if (s.remote_fin || s.consumed < s.recv_window / 2) return;
    std::uint64_t delta = s.consumed;
    // A window's worth consumed within 4 RTTs means the window, not the reader, is the limit.
    if (m_rtt && m_now - s.epoch < 4 * *m_rtt && s.recv_window < m_options.max_window) {
        const std::uint32_t grow = std::min(s.recv_window, m_options.max_window - s.recv_window);
        s.recv_window += grow;
        delta += grow;
    }
    s.epoch = m_now;
    s.recv_credit += delta;
    s.consumed = 0;
    send_header(kTypeWindowUpdate, 0, id, static_cast<std::uint32_t>(delta));
}

std::size_t YamuxSession::send_data(std::uint32_t id, Stream& s, ByteSpan data) {
    std::size_t sent = 0;
    while (sent < data.size() && s.send_window > 0 && m_data_budget > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
            {data.size() - sent, s.send_window, m_options.max_frame_data, m_data_budget}));
        send_header(kTypeData, 0, id, static_cast<std::uint32_t>(n));
        append(m_output, data.subspan(sent, n));
        sent += n;
        s.send_window -= n;
        m_data_budget -= n;
    }
    return sent;
}

void YamuxSession::flush(std::uint32_t id, Stream& s) {
    s.send_head += send_data(id, s, ByteSpan(s.send_queue).subspan(s.send_head));
    if (s.send_head == s.send_queue.size()) {
        s.send_queue.clear();
        s.send_head = 0;
    } else if (s.send_head >= m_options.max_frame_data && s.send_head * 2 >= s.send_queue.size()) {
        s.send_queue.erase(s.send_queue.begin(),
                           s.send_queue.begin() + static_cast<std::ptrdiff_t>(s.send_head));
        s.send_head = 0;
    }
    // FIN travels on its own zero-length WindowUpdate, as go-yamux sends it. Checked against
    // js-libp2p-yamux 8.0.1: the payload of a Data frame that also carried FIN never reached
    // the js application.
    if (s.local_fin_requested && !s.local_fin_sent && s.send_queue.empty()) {
        send_header(kTypeWindowUpdate, kFlagFin, id, 0);
        s.local_fin_sent = true;
    }
}

void YamuxSession::remove_if_done(std::uint32_t id) {
    auto it = m_streams.find(id);
    if (it != m_streams.end() && it->second.local_fin_sent && it->second.remote_fin) remove(id);
}

void YamuxSession::remove(std::uint32_t id) {
    auto it = m_streams.find(id);
    if (it == m_streams.end()) return;
    if (it->second.outbound) {
        --m_outbound;
    } else {
        --m_inbound;
    }
    m_streams.erase(it);
}

Result<std::uint32_t> YamuxSession::open_stream() {
    if (m_error || m_local_go_away) return Errc::session_closed;
    if (m_remote_go_away) return Errc::go_away_received;
    if (m_outbound >= m_options.max_outbound_streams) return Errc::too_many_streams;
    if (m_next_id > 0xffffffffu - 2) return Errc::too_many_streams;  // ids exhausted
    const std::uint32_t id = m_next_id;
    m_next_id += 2;
    Stream& s = m_streams[id];
    s.outbound = true;
    s.epoch = m_now;
    ++m_outbound;
    send_header(kTypeWindowUpdate, kFlagSyn, id, s.recv_window - YamuxOptions::kInitialWindow);
    return id;
}

Result<void> YamuxSession::write(std::uint32_t id, ByteSpan data) {
    if (m_error) return Errc::session_closed;
    auto it = m_streams.find(id);
    if (it == m_streams.end()) return Errc::unknown_stream;
    Stream& s = it->second;
    if (s.local_fin_requested) return Errc::stream_closed;
    // With nothing queued, what the window allows goes straight out without a queue copy.
    if (s.send_head == s.send_queue.size()) data = data.subspan(send_data(id, s, data));
    append(s.send_queue, data);
    flush(id, s);
    return success();
}

void YamuxSession::allow_data(std::size_t bytes) {
    const bool more = bytes > m_data_budget;
    m_data_budget = bytes;
    if (!more || m_error) return;
    std::vector<std::uint32_t> waiting;
    for (const auto& [id, s] : m_streams)
        if (s.send_head < s.send_queue.size()) waiting.push_back(id);
    // Lowest id first, so the order is the same on every run.
    std::sort(waiting.begin(), waiting.end());
    for (std::uint32_t id : waiting) {
        if (m_data_budget == 0) break;
        auto it = m_streams.find(id);
        flush(id, it->second);
        remove_if_done(id);
    }
}

Result<void> YamuxSession::close(std::uint32_t id) {
    if (m_error) return Errc::session_closed;
    auto it = m_streams.find(id);
    if (it == m_streams.end()) return Errc::unknown_stream;
    if (!it->second.local_fin_requested) {
        it->second.local_fin_requested = true;
        flush(id, it->second);
        remove_if_done(id);
    }
    return success();
}

Result<void> YamuxSession::reset(std::uint32_t id) {
    if (m_error) return Errc::session_closed;
    if (!m_streams.contains(id)) return Errc::unknown_stream;
    send_header(kTypeWindowUpdate, kFlagRst, id, 0);
    remove(id);
    return success();
}

Result<void> YamuxSession::consume(std::uint32_t id, std::size_t bytes) {
    auto it = m_streams.find(id);
    if (it == m_streams.end()) return Errc::unknown_stream;
    Stream& s = it->second;
    if (bytes > s.unconsumed) return Errc::invalid_state;
    s.unconsumed -= bytes;
    s.consumed += bytes;
    maybe_credit(id, s);
    return success();
}

Result<void> YamuxSession::ping(YamuxClock::time_point now) {
    if (m_error) return Errc::session_closed;
    if (m_pings.size() >= m_options.max_pending_pings) return Errc::invalid_state;
    m_now = now;
    const std::uint32_t opaque = m_next_ping++;
    m_pings[opaque] = now;
    send_header(kTypePing, kFlagSyn, 0, opaque);
    return success();
}

void YamuxSession::go_away(YamuxGoAway code) {
    if (m_local_go_away) return;
    m_local_go_away = true;
    send_header(kTypeGoAway, 0, 0, static_cast<std::uint32_t>(code));
}

std::size_t YamuxSession::queued_bytes(std::uint32_t id) const {
    auto it = m_streams.find(id);
    return it == m_streams.end() ? 0 : it->second.send_queue.size() - it->second.send_head;
}

std::uint64_t YamuxSession::send_window(std::uint32_t id) const {
    auto it = m_streams.find(id);
    return it == m_streams.end() ? 0 : it->second.send_window;
}

std::uint32_t YamuxSession::receive_window(std::uint32_t id) const {
    auto it = m_streams.find(id);
    return it == m_streams.end() ? 0 : it->second.recv_window;
}

}  // namespace swarmd::net
