#pragma once
// A byte stream (a TCP socket or a relayed circuit) and, once the Noise handshake is done, its
// encrypted transport. Reads keep any
// bytes past the end of one negotiation for the next layer (a listener may pipeline multistream
// answers and Noise messages, and the first yamux frames may follow the muxer's agreement).
#include <memory>
#include <optional>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/psk.hpp"
#include "net/detail/byte_stream.hpp"
#include "net/noise.hpp"

namespace swarmd::net::detail {

class SecureChannel {
  public:
    static constexpr std::size_t kReadChunk = 64 * 1024;

    explicit SecureChannel(boost::asio::ip::tcp::socket socket);
    explicit SecureChannel(std::shared_ptr<ByteStream> transport);

    boost::asio::any_io_executor executor() { return m_transport->executor(); }
    void close_write() noexcept { m_transport->close_write(); }
    void close() noexcept;

    // Puts the private-network protector (net/detail/pnet.hpp) under everything that follows;
    // called first, before any negotiation.
    boost::asio::awaitable<Result<void>> protect(const crypto::Psk& psk);

    // Raw phase. read_raw returns held-back bytes first, then whatever one read delivers.
    boost::asio::awaitable<Result<Bytes>> read_raw();
    void unread_raw(Bytes bytes);
    boost::asio::awaitable<Result<void>> write_raw(ByteSpan bytes);

    // Encrypted phase, after secure(): at least one plaintext byte, or an error
    // (connection_closed at end of stream, bad_aead_tag, socket errors).
    void secure(NoiseSession session);
    boost::asio::awaitable<Result<Bytes>> read_plain();
    void unread_plain(Bytes bytes);
    // Encrypts and writes; callers serialize their writes (the connection has one writer).
    boost::asio::awaitable<Result<void>> write_plain(ByteSpan plaintext);

    std::uint64_t bytes_received() const noexcept { return m_bytes_received; }

  private:
    std::shared_ptr<ByteStream> m_transport;
    std::optional<NoiseSession> m_session;
    Bytes m_raw_held;
    Bytes m_plain_held;
    Bytes m_read_buffer;
    Bytes m_write_buffer;
    std::uint64_t m_bytes_received = 0;
};

}  // namespace swarmd::net::detail
