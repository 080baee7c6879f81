#include "net/connection.hpp"

#include <limits>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "net/detail/stream_negotiation.hpp"
#include "net/detail/upgrade.hpp"
#include "net/error.hpp"
#include "net/log.hpp"
#include "net/spawn.hpp"

namespace swarmd::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kCloseFlushTimeout{2};

namespace {

asio::awaitable<void> wait(asio::steady_timer& timer) {
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Closes that are part of normal operation, logged at debug rather than as failures.
bool is_orderly(std::error_code reason) {
    return !reason || reason == Errc::connection_closed || reason == Errc::go_away_received;
}

// Anyone can make a connection fail (another private-network key, garbage instead of a
// handshake), as often as they like: 30 such lines at once, then 30 a minute at warn; the
// rest at debug, counted in the next warn line (and, each by reason, in the host's metrics).
LogBudget& failure_log_budget() {
    static LogBudget budget(30, 30);
    return budget;
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, bool outbound, Multiaddr remote_addr,
                       std::optional<crypto::PeerId> expected_remote, ConnectionOptions options)
    : Connection(std::make_shared<detail::TcpByteStream>(std::move(socket)), false, outbound,
                 std::move(remote_addr), std::move(expected_remote), options) {}

Connection::Connection(std::shared_ptr<detail::ByteStream> transport, bool outbound,
                       Multiaddr remote_addr, std::optional<crypto::PeerId> expected_remote,
                       ConnectionOptions options)
    : Connection(std::move(transport), true, outbound, std::move(remote_addr),
                 std::move(expected_remote), options) {}

Connection::Connection(std::shared_ptr<detail::ByteStream> transport, bool relayed, bool outbound,
                       Multiaddr remote_addr, std::optional<crypto::PeerId> expected_remote,
                       ConnectionOptions options)
    : m_channel(std::move(transport)),
      m_outbound(outbound),
      m_initiator(outbound),
      m_relayed(relayed),
      m_remote_addr(std::move(remote_addr)),
      m_expected_remote(std::move(expected_remote)),
      m_options(options),
      m_writer_wake(m_channel.executor()),
      m_watchdog(m_channel.executor()),
      m_keepalive(m_channel.executor()),
      m_closed_wake(m_channel.executor()) {
    if (m_expected_remote) m_remote = *m_expected_remote;
    m_writer_wake.expires_at(asio::steady_timer::time_point::max());
    m_closed_wake.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<Result<void>> Connection::run_upgrade(std::shared_ptr<const NoiseIdentity> identity,
                                                      InboundStreamHandler on_stream,
                                                      ClosedHandler on_closed) {
    auto self = shared_from_this();
    m_on_stream = std::move(on_stream);
    m_on_closed = std::move(on_closed);
    m_deadline = Clock::now() + m_options.handshake_timeout;
    asio::co_spawn(executor(), watchdog(), LogException{"connection watchdog"});

    const crypto::Psk* psk = m_relayed ? nullptr : m_options.psk.get();
    detail::AdmitPeer admit;
    if (m_options.allow_peers) {
        admit = [this](const crypto::PeerId& peer) {
            if (m_options.allow_peers->contains(peer)) return true;
            m_remote = peer;  // authenticated: the refusal names it
            return false;
        };
    }
    auto remote = co_await detail::upgrade(m_channel, m_initiator, std::move(identity),
                                           m_expected_remote, m_phase, psk, std::move(admit));
    if (!remote) {
        // The watchdog may have closed the socket first; its reason (timeout) wins.
        stop(remote.error(), m_phase);
        co_return m_close_reason;
    }
    if (m_state == State::closed) co_return m_close_reason;

    m_remote = remote.value().peer_id;
    m_state = State::open;
    m_phase = Phase::session;
    YamuxOptions yamux = m_options.yamux;
    yamux.client = m_initiator;
    // Flow control follows the application's reads, so a slow reader holds the sender back.
    yamux.auto_consume = false;
    // The core refuses excess streams quietly; the headroom lets this connection see a flood
    // and close with too_many_streams instead.
    yamux.max_inbound_streams = m_options.max_streams * 2 + 1;
    yamux.max_outbound_streams = m_options.max_streams;
    m_muxer.emplace(yamux);
    m_muxer->allow_data(m_options.max_write_backlog);
    // An RTT sample right away lets the core grow busy streams' windows from the start.
    (void)m_muxer->ping(Clock::now());
    flush();
    touch();
    net_log().debug("connection open dir={}{} addr={} peer={}", m_outbound ? "out" : "in",
                    m_relayed ? " relayed" : "", m_remote_addr.to_string(), m_remote.to_base58());
    asio::co_spawn(executor(), reader(), LogException{"connection reader"});
    asio::co_spawn(executor(), writer(), LogException{"connection writer"});
    asio::co_spawn(executor(), keepalive(), LogException{"connection keepalive"});
    co_return success();
}

asio::awaitable<Result<std::shared_ptr<Stream>>> Connection::open_stream(std::string protocol) {
    auto self = shared_from_this();
    if (!usable()) co_return Errc::connection_closed;
    if (m_streams.size() >= m_options.max_streams) co_return Errc::too_many_streams;
    auto id = m_muxer->open_stream();
    if (!id) co_return id.error();
    auto stream = std::make_shared<Stream>(*this, id.value(), true);
    m_streams.emplace(id.value(), StreamEntry{stream});
    flush();

    stream->set_deadline(Clock::now() + m_options.stream_negotiation_timeout);
    auto agreed = co_await detail::negotiate_stream_outbound(*stream, protocol);
    if (!agreed) {
        const std::error_code reason = stream->error() ? stream->error() : agreed.error();
        stream->reset();
        net_log().debug("stream negotiation failed protocol={} error={} peer={}", protocol,
                        reason.message(), m_remote.to_base58());
        co_return reason;
    }
    stream->set_deadline(Clock::time_point::max());
    stream->set_protocol(std::move(protocol));
    co_return stream;
}

void Connection::close() {
    if (m_state == State::closed || m_closing) return;
    if (m_state != State::open) {
        stop({}, m_phase);
        return;
    }
    m_muxer->go_away();
    close_after_flush({});
}

void Connection::drain() {
    if (m_state != State::open || m_closing) return;
    if (!m_draining) m_muxer->go_away();
    begin_drain({});
}

void Connection::begin_drain(std::error_code reason) {
    if (m_draining) return;
    m_draining = true;
    m_drain_reason = reason;
    net_log().debug("connection draining streams={} addr={} peer={}", m_streams.size(),
                    m_remote_addr.to_string(), m_remote.to_base58());
    m_deadline = std::min(m_deadline, Clock::now() + m_options.drain_timeout);
    m_watchdog.cancel();
    flush();
    finish_drain_if_idle();
}

void Connection::finish_drain_if_idle() {
    if (m_draining && m_streams.empty()) close_after_flush(m_drain_reason);
}

void Connection::stop(std::error_code reason, Phase phase) {
    if (m_state == State::closed) return;
    m_state = State::closed;
    m_close_reason = reason;
    if (!is_orderly(reason)) m_failed_phase = phase;
    const std::string peer = m_remote.bytes().empty() ? "unknown" : m_remote.to_base58();
    if (is_orderly(reason)) {
        net_log().debug("connection closed reason={} addr={} peer={}",
                        reason ? reason.message() : "local close", m_remote_addr.to_string(), peer);
    } else if (reason == Errc::peer_not_allowed) {
        // Our own decision, not a fault, and one an outsider can repeat at will: debug only.
        net_log().debug("connection refused phase={} error={} dir={} addr={} peer={}",
                        phase_name(phase), reason.message(), m_outbound ? "out" : "in",
                        m_remote_addr.to_string(), peer);
    } else if (std::uint64_t held = 0; failure_log_budget().take(held)) {
        net_log().warn("connection failed phase={} error={} addr={} peer={}{}", phase_name(phase),
                       reason.message(), m_remote_addr.to_string(), peer,
                       held ? fmt::format(" ({} more failures not logged before this one)", held)
                            : std::string());
    } else {
        net_log().debug("connection failed phase={} error={} addr={} peer={}", phase_name(phase),
                        reason.message(), m_remote_addr.to_string(), peer);
    }
    m_channel.close();
    m_writer_wake.cancel();
    m_watchdog.cancel();
    m_keepalive.cancel();
    m_closed_wake.cancel();
    auto streams = std::move(m_streams);
    m_streams.clear();
    for (auto& [id, entry] : streams)
        entry.stream->fail(reason ? reason : std::error_code(Errc::connection_closed));
    if (m_on_closed) {
        auto on_closed = std::move(m_on_closed);
        on_closed(*this);
    }
}

asio::awaitable<void> Connection::closed() {
    auto self = shared_from_this();
    while (m_state != State::closed) co_await wait(m_closed_wake);
}

Result<void> Connection::stream_write(std::uint32_t id, ByteSpan data) {
    if (m_state != State::open) return Errc::connection_closed;
    auto written = m_muxer->write(id, data);
    flush();
    return written;
}

bool Connection::write_backlogged(std::uint32_t id) const {
    return m_muxer->queued_bytes(id) > m_options.max_write_backlog;
}

bool Connection::stream_write_blocked(std::uint32_t id) {
    if (m_state != State::open || !m_muxer->has_stream(id)) return false;
    if (!write_backlogged(id)) return false;
    m_blocked_writers.push_back(id);
    return true;
}

void Connection::wake_writers() {
    if (m_blocked_writers.empty()) return;
    auto blocked = std::move(m_blocked_writers);
    m_blocked_writers.clear();
    for (std::uint32_t id : blocked) {
        auto it = m_streams.find(id);
        if (it == m_streams.end()) continue;
        if (m_muxer->has_stream(id) && write_backlogged(id)) {
            m_blocked_writers.push_back(id);
        } else {
            it->second.stream->wake_writer();
        }
    }
}

std::size_t Connection::unread_bytes() const {
    std::size_t total = 0;
    for (const auto& [id, entry] : m_streams) total += entry.stream->buffered();
    return total;
}

void Connection::stream_released(std::uint32_t id) {
    auto it = m_streams.find(id);
    if (m_state != State::open || it == m_streams.end()) return;
    it->second.stream->discard_inbound();
    if (it->second.remote_end) return;
    arm_release_deadline(id, std::numeric_limits<std::size_t>::max());
}

void Connection::arm_release_deadline(std::uint32_t id, std::size_t queued_before) {
    auto timer = std::make_shared<asio::steady_timer>(executor(), m_options.half_close_timeout);
    timer->async_wait(
        [weak = weak_from_this(), id, queued_before, timer](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || self->m_state != State::open) return;
            auto it = self->m_streams.find(id);
            if (it == self->m_streams.end()) return;  // closed by both sides meanwhile
            // Our answer still leaving at the peer's pace is progress: give it another period.
            const std::size_t queued = self->m_muxer->queued_bytes(id);
            if (queued > 0 && queued < queued_before) {
                self->arm_release_deadline(id, queued);
                return;
            }
            net_log().debug("released stream reset: peer kept it half-open id={} peer={}", id,
                            self->m_remote.to_base58());
            auto stream = it->second.stream;
            stream->fail(Errc::timeout);
            self->stream_reset(id);
        });
}

void Connection::stream_consumed(std::uint32_t id, std::size_t n) {
    if (m_state != State::open || n == 0) return;
    (void)m_muxer->consume(id, n);  // unknown_stream once both sides closed: nothing to credit
    flush();
}

void Connection::stream_close_write(std::uint32_t id) {
    if (m_state != State::open) return;
    (void)m_muxer->close(id);
    flush();
    if (auto it = m_streams.find(id); it != m_streams.end()) {
        it->second.local_end = true;
        if (it->second.remote_end) m_streams.erase(it);
    }
    finish_drain_if_idle();
}

void Connection::stream_reset(std::uint32_t id) {
    if (m_state != State::open) return;
    (void)m_muxer->reset(id);
    flush();
    m_streams.erase(id);
    finish_drain_if_idle();
}

asio::awaitable<void> Connection::reader() {
    auto self = shared_from_this();
    while (m_state == State::open && !m_closing) {
        auto in = co_await m_channel.read_plain();
        if (m_state != State::open || m_closing) co_return;
        if (!in) {
            stop(in.error(), Phase::session);
            co_return;
        }
        touch();
        m_bytes_received += in.value().size();
        for (const YamuxEvent& event : m_muxer->feed(in.value(), Clock::now())) {
            handle(event);
            if (m_state != State::open || m_closing) co_return;
        }
        wake_writers();
        flush();
    }
}

void Connection::handle(const YamuxEvent& event) {
    using Kind = YamuxEvent::Kind;
    switch (event.kind) {
        case Kind::error:
            // The core queued a GoAway; send it before closing.
            close_after_flush(event.error);
            return;
        case Kind::go_away:
            // A normal GoAway lets the streams in flight finish; the remote opens no new ones
            // and neither do we.
            if (event.go_away_code != static_cast<std::uint32_t>(YamuxGoAway::normal) ||
                m_streams.empty()) {
                stop(Errc::go_away_received, Phase::session);
            } else {
                begin_drain(Errc::go_away_received);
            }
            return;
        case Kind::ping_rtt:
            net_log().debug("yamux rtt={}us peer={}", event.rtt.count() / 1000,
                            m_remote.to_base58());
            return;
        case Kind::stream_accepted:
            return;
        case Kind::stream_opened: {
            if (m_draining) {
                (void)m_muxer->reset(event.stream_id);
                return;
            }
            if (m_streams.size() >= m_options.max_streams) {
                close_after_flush(Errc::too_many_streams);
                return;
            }
            auto stream = std::make_shared<Stream>(*this, event.stream_id, false);
            m_streams.emplace(event.stream_id, StreamEntry{stream});
            if (m_on_stream) m_on_stream(stream);
            return;
        }
        case Kind::data:
        case Kind::remote_fin:
        case Kind::stream_reset:
            break;
    }
    auto it = m_streams.find(event.stream_id);
    if (it == m_streams.end()) {
        // Nobody will read it: give the credit back so the peer is not stalled.
        if (event.kind == Kind::data) (void)m_muxer->consume(event.stream_id, event.data.size());
        return;
    }
    auto stream = it->second.stream;
    if (event.kind == Kind::data) {
        stream->deliver(event.data);
        if (stream->buffered() > 0 && unread_bytes() > m_options.max_unread) {
            net_log().warn("unread inbound data over budget: {} bytes over {} streams peer={}",
                           unread_bytes(), m_streams.size(), m_remote.to_base58());
            close_after_flush(Errc::inbound_budget);
            return;
        }
    } else if (event.kind == Kind::remote_fin) {
        stream->deliver_end();
        it->second.remote_end = true;
        if (it->second.local_end) m_streams.erase(it);
    } else {
        stream->fail(Errc::stream_reset);
        m_streams.erase(it);
    }
    finish_drain_if_idle();
}

void Connection::close_after_flush(std::error_code reason) {
    // The writer sends what is queued (a GoAway from the core, or from close()), then stops with
    // `reason`; the watchdog bounds the wait for a peer that does not read.
    if (m_state != State::open || m_closing) return;
    m_closing = true;
    m_closing_reason = reason;
    m_deadline = std::min(m_deadline, Clock::now() + kCloseFlushTimeout);
    m_watchdog.cancel();
    flush();
    m_writer_wake.cancel_one();
}

asio::awaitable<void> Connection::writer() {
    auto self = shared_from_this();
    Bytes batch;
    while (m_state == State::open) {
        if (m_outbound_queue.empty()) {
            if (m_closing) {
                stop(m_closing_reason, Phase::session);
                co_return;
            }
            co_await wait(m_writer_wake);
            continue;
        }
        batch.clear();
        for (const Bytes& chunk : m_outbound_queue) append(batch, chunk);
        m_outbound_queue.clear();
        auto written = co_await m_channel.write_plain(batch);
        if (m_state != State::open) co_return;
        if (!written) {
            stop(written.error(), Phase::session);
            co_return;
        }
        m_outbound_bytes -= batch.size();
        m_bytes_sent += batch.size();
        flush();  // the socket took the batch: streams may send what waited for it
        wake_writers();
    }
}

asio::awaitable<void> Connection::watchdog() {
    auto self = shared_from_this();
    while (m_state != State::closed) {
        if (m_deadline <= Clock::now()) {
            // A drain that outlives its streams' patience still ends as an orderly close.
            if (m_draining && m_state == State::open) {
                stop(m_drain_reason, Phase::session);
            } else {
                stop(Errc::timeout, m_phase);
            }
            co_return;
        }
        m_watchdog.expires_at(m_deadline);
        co_await wait(m_watchdog);
    }
}

asio::awaitable<void> Connection::keepalive() {
    auto self = shared_from_this();
    while (m_state == State::open) {
        m_keepalive.expires_after(m_options.idle_timeout / 4);
        co_await wait(m_keepalive);
        if (m_state != State::open) co_return;
        (void)m_muxer->ping(Clock::now());  // at the pending-ping cap the peer is already silent
        flush();
    }
}

void Connection::allow_data() {
    // Data leaves the streams' queues only while the socket keeps up: what waits for the socket
    // stays below max_write_backlog, so the outbound queue grows only by control frames.
    const std::size_t limit = m_options.max_write_backlog;
    m_muxer->allow_data(m_outbound_bytes < limit ? limit - m_outbound_bytes : 0);
    if (m_muxer->has_output()) flush();
}

void Connection::flush() {
    if (!m_muxer) return;
    Bytes out = m_muxer->take_output();
    if (out.empty()) {
        if (m_state == State::open) allow_data();
        return;
    }
    if (m_state == State::closed) return;
    m_outbound_bytes += out.size();
    m_outbound_queue.push_back(std::move(out));
    if (m_outbound_bytes > m_options.max_outbound_queue) {
        // Pongs, window updates and data pile up behind a socket the peer does not drain.
        net_log().warn("peer does not read: {} bytes queued over the limit of {} addr={} peer={}",
                       m_outbound_bytes, m_options.max_outbound_queue, m_remote_addr.to_string(),
                       m_remote.to_base58());
        m_outbound_queue.clear();
        stop(Errc::peer_not_reading, Phase::session);
        return;
    }
    m_writer_wake.cancel_one();
    allow_data();
}

void Connection::touch() {
    if (m_draining || m_closing) return;  // their deadline is final
    const Clock::time_point deadline = Clock::now() + m_options.idle_timeout;
    // The watchdog sleeps until the old deadline; wake it when the new one comes sooner.
    if (deadline < m_deadline) m_watchdog.cancel();
    m_deadline = deadline;
}

}  // namespace swarmd::net
