#pragma once
// One upgraded libp2p connection: TCP + Noise + yamux, driven by three coroutines in the style of
// Asio's coroutine examples. The reader decrypts and feeds the yamux core, the writer drains the
// outbound queue (woken by cancelling a never-expiring timer), and the watchdog closes the socket
// when the current phase's deadline passes. They keep the connection alive through
// shared_from_this; stop() is idempotent, records the first reason and logs it once with the peer
// id and phase.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/result.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/psk.hpp"
#include "net/detail/secure_channel.hpp"
#include "net/host_error.hpp"
#include "net/multiaddr.hpp"
#include "net/noise.hpp"
#include "net/stream.hpp"
#include "net/yamux.hpp"

namespace swarmd::net {

struct ConnectionOptions {
    static constexpr std::chrono::seconds kDefaultHandshakeTimeout{10};
    static constexpr std::chrono::seconds kDefaultIdleTimeout{120};
    static constexpr std::chrono::seconds kDefaultStreamNegotiationTimeout{10};
    static constexpr std::size_t kDefaultMaxStreams = 256;
    static constexpr std::size_t kDefaultMaxWriteBacklog = 1024 * 1024;
    static constexpr std::chrono::seconds kDefaultDrainTimeout{5};
    static constexpr std::size_t kDefaultMaxOutboundQueue = 32 * 1024 * 1024;
    static constexpr std::size_t kDefaultMaxUnread = 32 * 1024 * 1024;
    static constexpr std::chrono::seconds kDefaultHalfCloseTimeout{10};

    std::chrono::steady_clock::duration handshake_timeout = kDefaultHandshakeTimeout;
    // A connection on which nothing arrives for this long is closed; yamux pings every quarter
    // of it keep a live peer talking.
    std::chrono::steady_clock::duration idle_timeout = kDefaultIdleTimeout;
    std::chrono::steady_clock::duration stream_negotiation_timeout =
        kDefaultStreamNegotiationTimeout;
    // Streams open at once (both directions); an inbound stream beyond it closes the connection
    // with too_many_streams.
    std::size_t max_streams = kDefaultMaxStreams;
    // A stream's write() waits while more than this many bytes wait for the peer's window, or
    // while the connection's outbound queue holds more than this.
    std::size_t max_write_backlog = kDefaultMaxWriteBacklog;
    // Bytes queued for the socket (frames the peer has not read yet, pongs and window updates
    // included). Beyond it the peer is not reading: the connection closes with peer_not_reading.
    // Twice the largest yamux window, so one busy stream to a slow but honest reader fits.
    std::size_t max_outbound_queue = kDefaultMaxOutboundQueue;
    // Bytes received but not yet read by the application, over all streams. Beyond it the
    // connection closes with inbound_budget.
    std::size_t max_unread = kDefaultMaxUnread;
    // Once the handler of a stream is done (release()), the remote has this long to close its
    // side; then the stream is reset. Data arriving meanwhile is dropped.
    std::chrono::steady_clock::duration half_close_timeout = kDefaultHalfCloseTimeout;
    // A draining connection (drain(), or a GoAway from the remote while streams are open) lets
    // its open streams finish for at most this long before the socket closes.
    std::chrono::steady_clock::duration drain_timeout = kDefaultDrainTimeout;
    // Window sizes and frame sizes; stream limits and roles are set from the fields above.
    YamuxOptions yamux;
    // A private network (libp2p pnet): when set, every connection over a socket is protected
    // with this key before multistream-select, and peers without it cannot connect. Relayed
    // connections are not protected again: the connection to the relay already is.
    std::shared_ptr<const crypto::Psk> psk;
    // When set, only these peers are admitted: a connection (either way, relayed too) whose
    // remote proves another id in the Noise handshake is closed with peer_not_allowed before the
    // muxer is negotiated, so no protocol ever runs with it.
    std::shared_ptr<const std::unordered_set<crypto::PeerId>> allow_peers;
};

class Connection : public std::enable_shared_from_this<Connection> {
  public:
    enum class State { upgrading, open, closed };
    // Called with each inbound stream (not yet negotiated) and when the connection ends.
    using InboundStreamHandler = std::function<void(std::shared_ptr<Stream>)>;
    using ClosedHandler = std::function<void(Connection&)>;

    Connection(boost::asio::ip::tcp::socket socket, bool outbound, Multiaddr remote_addr,
               std::optional<crypto::PeerId> expected_remote, ConnectionOptions options);
    // A relayed connection: upgraded over a circuit through a relay (`transport` is the hop or
    // stop stream) instead of a socket. relayed() is true.
    Connection(std::shared_ptr<detail::ByteStream> transport, bool outbound, Multiaddr remote_addr,
               std::optional<crypto::PeerId> expected_remote, ConnectionOptions options);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Upgrades the socket (under the handshake deadline) and then starts the reader and writer.
    // Fails with the phase that failed; the connection is then closed and its failure logged.
    boost::asio::awaitable<Result<void>> run_upgrade(std::shared_ptr<const NoiseIdentity> identity,
                                                     InboundStreamHandler on_stream,
                                                     ClosedHandler on_closed);

    // Opens a stream and negotiates `protocol` on it (under the stream negotiation timeout).
    boost::asio::awaitable<Result<std::shared_ptr<Stream>>> open_stream(std::string protocol);

    // Graceful close: a yamux GoAway is flushed, then the socket closes.
    void close();
    // Gentler close: a GoAway goes out at once (no new streams either way), the open streams may
    // finish, and the socket closes when the last one ends or drain_timeout passes. Used for the
    // losing connection of a simultaneous dial.
    void drain();
    // Immediate close with a reason; idempotent, logs the first reason once.
    void stop(std::error_code reason, Phase phase);
    // Returns once the connection is closed.
    boost::asio::awaitable<void> closed();

    State state() const noexcept { return m_state; }
    // Open and not closing: new streams may be opened.
    bool usable() const noexcept { return m_state == State::open && !m_closing && !m_draining; }
    bool outbound() const noexcept { return m_outbound; }
    // Which role this side plays in the upgrade (multistream, Noise, yamux): the dialer's, unless
    // set otherwise before run_upgrade. A hole punch's simultaneous open leaves both sides having
    // dialed; DCUtR then names one the initiator.
    bool initiator() const noexcept { return m_initiator; }
    void set_initiator(bool initiator) noexcept { m_initiator = initiator; }
    // Carried through a relay (limited in time and bytes by it) rather than a direct socket.
    bool relayed() const noexcept { return m_relayed; }
    // Valid once open (for outbound connections, the expected id before that).
    const crypto::PeerId& remote_peer() const noexcept { return m_remote; }
    const Multiaddr& remote_addr() const noexcept { return m_remote_addr; }
    std::error_code close_reason() const noexcept { return m_close_reason; }
    std::optional<Phase> failed_phase() const noexcept { return m_failed_phase; }
    std::size_t stream_count() const noexcept { return m_streams.size(); }
    boost::asio::any_io_executor executor() { return m_channel.executor(); }

    // ---- called by Stream ----
    Result<void> stream_write(std::uint32_t id, ByteSpan data);
    // Whether a writer of stream id must wait; if so it is woken once the backlog drains.
    bool stream_write_blocked(std::uint32_t id);
    void stream_consumed(std::uint32_t id, std::size_t n);
    void stream_close_write(std::uint32_t id);
    void stream_reset(std::uint32_t id);
    // The application is done with stream id: FIN if not sent, drop what arrives, and reset it
    // unless the remote closes within half_close_timeout.
    void stream_released(std::uint32_t id);

    // Bytes queued for the socket, and unread bytes held for the application.
    std::size_t outbound_queued() const noexcept { return m_outbound_bytes; }
    // Session bytes (yamux frames, before encryption) written and read since the upgrade.
    std::uint64_t bytes_sent() const noexcept { return m_bytes_sent; }
    std::uint64_t bytes_received() const noexcept { return m_bytes_received; }
    std::size_t unread_bytes() const;

  private:
    Connection(std::shared_ptr<detail::ByteStream> transport, bool relayed, bool outbound,
               Multiaddr remote_addr, std::optional<crypto::PeerId> expected_remote,
               ConnectionOptions options);
    boost::asio::awaitable<void> reader();
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> watchdog();
    boost::asio::awaitable<void> keepalive();
    void handle(const YamuxEvent& event);
    void wake_writers();
    void close_after_flush(std::error_code reason);
    void begin_drain(std::error_code reason);
    void finish_drain_if_idle();
    void flush();
    void allow_data();
    void touch();
    bool write_backlogged(std::uint32_t id) const;
    void arm_release_deadline(std::uint32_t id, std::size_t queued_before);

    struct StreamEntry {
        std::shared_ptr<Stream> stream;
        bool local_end = false;   // our FIN sent
        bool remote_end = false;  // their FIN received
    };

    detail::SecureChannel m_channel;
    bool m_outbound;
    bool m_initiator;
    bool m_relayed;
    Multiaddr m_remote_addr;
    crypto::PeerId m_remote;
    std::optional<crypto::PeerId> m_expected_remote;
    ConnectionOptions m_options;
    State m_state = State::upgrading;
    Phase m_phase = Phase::security_negotiation;
    std::optional<YamuxSession> m_muxer;
    std::vector<std::uint32_t> m_blocked_writers;
    std::map<std::uint32_t, StreamEntry> m_streams;
    InboundStreamHandler m_on_stream;
    ClosedHandler m_on_closed;

    std::deque<Bytes> m_outbound_queue;
    std::size_t m_outbound_bytes = 0;  // queued plus the batch being written
    std::uint64_t m_bytes_sent = 0;
    std::uint64_t m_bytes_received = 0;
    bool m_closing = false;
    std::error_code m_closing_reason;
    bool m_draining = false;
    std::error_code m_drain_reason;
    boost::asio::steady_timer m_writer_wake;
    boost::asio::steady_timer m_watchdog;
    boost::asio::steady_timer m_keepalive;
    boost::asio::steady_timer m_closed_wake;
    std::chrono::steady_clock::time_point m_deadline;
    std::error_code m_close_reason;
    std::optional<Phase> m_failed_phase;
};

}  // namespace swarmd::net
