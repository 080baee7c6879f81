#include "net/stream.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/varint.hpp"
#include "net/connection.hpp"
#include "net/error.hpp"
#include "net/length_prefixed.hpp"

namespace swarmd::net {

namespace asio = boost::asio;

Stream::Stream(Connection& connection, std::uint32_t id, bool outbound)
    : m_connection(connection.weak_from_this()),
      m_remote(connection.remote_peer()),
      m_id(id),
      m_outbound(outbound),
      m_read_wake(connection.executor()),
      m_write_wake(connection.executor()),
      m_deadline(connection.executor()) {
    m_read_wake.expires_at(asio::steady_timer::time_point::max());
    m_write_wake.expires_at(asio::steady_timer::time_point::max());
}

const crypto::PeerId& Stream::remote_peer() const noexcept { return m_remote; }

asio::awaitable<void> Stream::wait(asio::steady_timer& timer) {
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<Result<std::size_t>> Stream::read_some(MutableByteSpan out) {
    auto self = shared_from_this();
    while (buffered() == 0 && !m_remote_closed && !m_error) co_await wait(m_read_wake);
    if (buffered() == 0) {
        if (m_error) co_return m_error;
        co_return std::size_t{0};
    }
    const std::size_t n = std::min(out.size(), buffered());
    std::memcpy(out.data(), m_inbound.data() + m_inbound_offset, n);
    m_inbound_offset += n;
    if (m_inbound_offset == m_inbound.size()) {
        m_inbound.clear();
        m_inbound_offset = 0;
    }
    // Bytes pushed back by unread() were already credited to the peer once.
    const std::size_t recredited = std::min(n, m_unread_pending);
    m_unread_pending -= recredited;
    if (auto connection = m_connection.lock()) connection->stream_consumed(m_id, n - recredited);
    co_return n;
}

asio::awaitable<Result<void>> Stream::read_exact(MutableByteSpan out) {
    std::size_t done = 0;
    while (done < out.size()) {
        auto n = co_await read_some(out.subspan(done));
        if (!n) co_return n.error();
        if (n.value() == 0) co_return Errc::truncated_message;
        done += n.value();
    }
    co_return success();
}

asio::awaitable<Result<Bytes>> Stream::read_length_prefixed(std::size_t max_size) {
    // The prefix is read one byte at a time so no byte past this message is consumed.
    std::uint64_t length = 0;
    for (std::size_t i = 0;; ++i) {
        if (i == kMaxVarintBytes) co_return Errc::bad_varint;
        std::uint8_t byte = 0;
        auto r = co_await read_exact(MutableByteSpan(&byte, 1));
        if (!r) co_return r.error();
        length |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            if (byte == 0 && i > 0) co_return Errc::bad_varint;
            break;
        }
    }
    if (length > max_size) co_return Errc::message_too_large;
    Bytes body(static_cast<std::size_t>(length));
    auto r = co_await read_exact(body);
    if (!r) co_return r.error();
    co_return body;
}

asio::awaitable<Result<Bytes>> Stream::read_to_end(std::size_t max_size) {
    Bytes out;
    std::array<std::uint8_t, 4096> chunk{};
    for (;;) {
        auto n = co_await read_some(chunk);
        if (!n) co_return n.error();
        if (n.value() == 0) co_return out;
        if (out.size() + n.value() > max_size) co_return Errc::message_too_large;
        out.insert(out.end(), chunk.begin(),
                   chunk.begin() + static_cast<std::ptrdiff_t>(n.value()));
    }
}

asio::awaitable<Result<void>> Stream::write(ByteSpan data) {
    auto self = shared_from_this();
    if (m_error) co_return m_error;
    if (m_local_closed) co_return Errc::stream_closed;
    auto connection = m_connection.lock();
    if (!connection) co_return Errc::connection_closed;
    auto written = connection->stream_write(m_id, data);
    if (!written) co_return written.error();
    // Backpressure: wait while the bytes the peer's window holds back exceed the backlog limit.
    while (connection->stream_write_blocked(m_id)) {
        co_await wait(m_write_wake);
        if (m_error) co_return m_error;
    }
    co_return success();
}

asio::awaitable<Result<void>> Stream::write_length_prefixed(ByteSpan body) {
    Bytes framed;
    append_length_prefixed(framed, body);
    co_return co_await write(framed);
}

void Stream::close_write() {
    if (m_local_closed || m_error) return;
    m_local_closed = true;
    if (auto connection = m_connection.lock()) connection->stream_close_write(m_id);
}

void Stream::reset() {
    if (m_error) return;
    fail(Errc::stream_reset);
    if (auto connection = m_connection.lock()) connection->stream_reset(m_id);
}

void Stream::set_deadline(std::chrono::steady_clock::time_point deadline) {
    m_deadline.expires_at(deadline);
    std::weak_ptr<Stream> weak = weak_from_this();
    m_deadline.async_wait([weak](const boost::system::error_code& ec) {
        if (ec) return;  // re-armed or cancelled
        if (auto stream = weak.lock(); stream && !stream->m_error) {
            stream->fail(Errc::timeout);
            if (auto connection = stream->m_connection.lock())
                connection->stream_reset(stream->m_id);
        }
    });
}

void Stream::release() {
    if (m_error) return;
    close_write();
    if (auto connection = m_connection.lock()) connection->stream_released(m_id);
}

void Stream::discard_inbound() {
    m_discarding = true;
    m_inbound.clear();
    m_inbound.shrink_to_fit();
    m_inbound_offset = 0;
}

void Stream::deliver(ByteSpan data) {
    if (m_discarding) return;
    append(m_inbound, data);
    m_read_wake.cancel();
}

void Stream::deliver_end() {
    m_remote_closed = true;
    m_read_wake.cancel();
}

void Stream::fail(std::error_code reason) {
    if (m_error) return;
    m_error = reason;
    m_deadline.cancel();
    m_read_wake.cancel();
    m_write_wake.cancel();
}

void Stream::wake_writer() { m_write_wake.cancel(); }

void Stream::unread(Bytes data) {
    if (data.empty()) return;
    m_inbound.erase(m_inbound.begin(),
                    m_inbound.begin() + static_cast<std::ptrdiff_t>(m_inbound_offset));
    m_inbound.insert(m_inbound.begin(), data.begin(), data.end());
    m_inbound_offset = 0;
    m_unread_pending += data.size();
    m_read_wake.cancel();
}

}  // namespace swarmd::net
