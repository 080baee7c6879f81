#include "net/detail/byte_stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/error.hpp"
#include "net/stream.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

asio::awaitable<Result<std::size_t>> TcpByteStream::read_some(MutableByteSpan out) {
    boost::system::error_code ec;
    const std::size_t n = co_await m_socket.async_read_some(
        asio::buffer(out.data(), out.size()), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return std::size_t{0};
    if (ec) co_return std::error_code(ec);
    co_return n;
}

asio::awaitable<Result<void>> TcpByteStream::write(ByteSpan bytes) {
    boost::system::error_code ec;
    co_await asio::async_write(m_socket, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::error_code(ec);
    co_return success();
}

void TcpByteStream::close_write() noexcept {
    boost::system::error_code ignored;
    m_socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void TcpByteStream::close() noexcept {
    boost::system::error_code ignored;
    m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    m_socket.close(ignored);
}

asio::awaitable<Result<std::size_t>> RelayedByteStream::read_some(MutableByteSpan out) {
    auto stream = m_stream;  // close() may run while this read waits
    co_return co_await stream->read_some(out);
}

asio::awaitable<Result<void>> RelayedByteStream::write(ByteSpan bytes) {
    auto stream = m_stream;
    co_return co_await stream->write(bytes);
}

void RelayedByteStream::close_write() noexcept { m_stream->close_write(); }

void RelayedByteStream::close() noexcept { m_stream->reset(); }

}  // namespace swarmd::net::detail
