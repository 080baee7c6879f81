#pragma once
// A protocol stream on a yamux connection, after its multistream-select negotiation. This is the
// API that identify, ping, gossipsub and request/response code uses: awaitable reads (raw, exact
// or uvarint-length-prefixed with a size limit) and writes that respect the peer's flow-control
// window, half-close and reset. All calls happen on the host's io_context thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {

class Connection;

class Stream : public std::enable_shared_from_this<Stream> {
  public:
    Stream(Connection& connection, std::uint32_t id, bool outbound);
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Up to out.size() bytes; 0 means the peer closed its write side (end of stream).
    boost::asio::awaitable<Result<std::size_t>> read_some(MutableByteSpan out);
    // Exactly out.size() bytes; truncated_message if the stream ends first.
    boost::asio::awaitable<Result<void>> read_exact(MutableByteSpan out);
    // One uvarint-length-prefixed message of at most max_size bytes (checked on the prefix).
    boost::asio::awaitable<Result<Bytes>> read_length_prefixed(std::size_t max_size);
    // Everything up to the end of the stream, at most max_size bytes.
    boost::asio::awaitable<Result<Bytes>> read_to_end(std::size_t max_size);

    // Returns once every byte is handed to the connection (which may still be sending them).
    boost::asio::awaitable<Result<void>> write(ByteSpan data);
    boost::asio::awaitable<Result<void>> write_length_prefixed(ByteSpan body);

    // Half-close: no more writes from us (yamux FIN). Reads continue until the peer's FIN.
    void close_write();
    // Abort both directions (yamux RST).
    void reset();
    // Resets the stream if it is still open at `deadline`; for request/response timeouts.
    void set_deadline(std::chrono::steady_clock::time_point deadline);
    // The owner is done with the stream (the host calls it when a handler returns): our side is
    // closed, further data is dropped, and the stream is reset unless the peer closes its side
    // within the connection's half_close_timeout.
    void release();

    std::uint32_t id() const noexcept { return m_id; }
    bool outbound() const noexcept { return m_outbound; }
    const std::string& protocol() const noexcept { return m_protocol; }
    const crypto::PeerId& remote_peer() const noexcept;
    // The connection the stream runs on, while it is alive.
    std::shared_ptr<Connection> connection() const { return m_connection.lock(); }
    // Why the stream stopped (stream_reset, connection_closed, timeout...), or empty.
    std::error_code error() const noexcept { return m_error; }

    // ---- called by the connection ----
    void set_protocol(std::string protocol) { m_protocol = std::move(protocol); }
    void deliver(ByteSpan data);
    void deliver_end();
    void fail(std::error_code reason);
    void wake_writer();
    // Bytes pushed back to the front of the read buffer (multistream leftovers).
    void unread(Bytes data);
    // Drops the read buffer and whatever arrives later.
    void discard_inbound();
    std::size_t buffered() const noexcept { return m_inbound.size() - m_inbound_offset; }

  private:
    boost::asio::awaitable<void> wait(boost::asio::steady_timer& timer);

    std::weak_ptr<Connection> m_connection;
    crypto::PeerId m_remote;
    std::uint32_t m_id;
    bool m_outbound;
    std::string m_protocol;
    Bytes m_inbound;
    std::size_t m_inbound_offset = 0;
    std::size_t m_unread_pending = 0;
    bool m_remote_closed = false;
    bool m_local_closed = false;
    bool m_discarding = false;
    std::error_code m_error;
    boost::asio::steady_timer m_read_wake;
    boost::asio::steady_timer m_write_wake;
    boost::asio::steady_timer m_deadline;
};

}  // namespace swarmd::net
