#pragma once
// What a connection is upgraded over: a reliable, ordered byte stream. A TCP socket is one; a
// relayed circuit is another (a yamux stream on the connection to the relay, after the hop or stop
// exchange), so the same multistream, Noise and yamux code runs over both.
#include <memory>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::net {
class Stream;
}

namespace swarmd::net::detail {

class ByteStream {
  public:
    virtual ~ByteStream() = default;
    // Up to out.size() bytes; 0 at the end of the stream.
    virtual boost::asio::awaitable<Result<std::size_t>> read_some(MutableByteSpan out) = 0;
    virtual boost::asio::awaitable<Result<void>> write(ByteSpan bytes) = 0;
    // Half-close: the peer reads the end of the stream; reads go on.
    virtual void close_write() noexcept = 0;
    // Ends both directions; pending reads and writes fail. Idempotent.
    virtual void close() noexcept = 0;
    virtual boost::asio::any_io_executor executor() = 0;
};

class TcpByteStream final : public ByteStream {
  public:
    explicit TcpByteStream(boost::asio::ip::tcp::socket socket) : m_socket(std::move(socket)) {}
    boost::asio::awaitable<Result<std::size_t>> read_some(MutableByteSpan out) override;
    boost::asio::awaitable<Result<void>> write(ByteSpan bytes) override;
    void close_write() noexcept override;
    void close() noexcept override;
    boost::asio::any_io_executor executor() override { return m_socket.get_executor(); }

  private:
    boost::asio::ip::tcp::socket m_socket;
};

// A protocol stream carrying a relayed connection. close() resets it, which the relay passes on
// to the other end of the circuit.
class RelayedByteStream final : public ByteStream {
  public:
    RelayedByteStream(boost::asio::any_io_executor executor, std::shared_ptr<Stream> stream)
        : m_executor(std::move(executor)), m_stream(std::move(stream)) {}
    boost::asio::awaitable<Result<std::size_t>> read_some(MutableByteSpan out) override;
    boost::asio::awaitable<Result<void>> write(ByteSpan bytes) override;
    void close_write() noexcept override;
    void close() noexcept override;
    boost::asio::any_io_executor executor() override { return m_executor; }

  private:
    boost::asio::any_io_executor m_executor;
    std::shared_ptr<Stream> m_stream;
};

}  // namespace swarmd::net::detail
