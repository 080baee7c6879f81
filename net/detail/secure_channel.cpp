#include "net/detail/secure_channel.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/error.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

SecureChannel::SecureChannel(asio::ip::tcp::socket socket) : m_socket(std::move(socket)) {}

void SecureChannel::close() noexcept {
    boost::system::error_code ignored;
    m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    m_socket.close(ignored);
}

asio::awaitable<Result<Bytes>> SecureChannel::read_raw() {
    if (!m_raw_held.empty()) co_return std::exchange(m_raw_held, {});
    m_read_buffer.resize(kReadChunk);
    boost::system::error_code ec;
    const std::size_t n = co_await m_socket.async_read_some(
        asio::buffer(m_read_buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return Errc::connection_closed;
    if (ec) co_return std::error_code(ec);
    m_bytes_received += n;
    co_return Bytes(m_read_buffer.begin(), m_read_buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

void SecureChannel::unread_raw(Bytes bytes) {
    bytes.insert(bytes.end(), m_raw_held.begin(), m_raw_held.end());
    m_raw_held = std::move(bytes);
}

asio::awaitable<Result<void>> SecureChannel::write_raw(ByteSpan bytes) {
    boost::system::error_code ec;
    co_await asio::async_write(m_socket, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::error_code(ec);
    co_return success();
}

void SecureChannel::secure(NoiseSession session) { m_session.emplace(std::move(session)); }

asio::awaitable<Result<Bytes>> SecureChannel::read_plain() {
    if (!m_plain_held.empty()) co_return std::exchange(m_plain_held, {});
    if (!m_session) co_return Errc::invalid_state;
    // A read may end mid-frame; keep reading until a whole frame yields plaintext.
    for (;;) {
        auto raw = co_await read_raw();
        if (!raw) {
            // The peer hung up in the middle of a frame.
            if (raw.error() == Errc::connection_closed && m_session->buffered() > 0)
                co_return Errc::truncated_message;
            co_return raw.error();
        }
        Bytes plain;
        auto decrypted = m_session->decrypt(raw.value(), plain);
        if (!decrypted) co_return decrypted.error();
        if (!plain.empty()) co_return plain;
    }
}

void SecureChannel::unread_plain(Bytes bytes) {
    bytes.insert(bytes.end(), m_plain_held.begin(), m_plain_held.end());
    m_plain_held = std::move(bytes);
}

asio::awaitable<Result<void>> SecureChannel::write_plain(ByteSpan plaintext) {
    if (!m_session) co_return Errc::invalid_state;
    m_write_buffer.clear();
    auto encrypted = m_session->encrypt(plaintext, m_write_buffer);
    if (!encrypted) co_return encrypted.error();
    co_return co_await write_raw(m_write_buffer);
}

}  // namespace swarmd::net::detail
