#include "net/detail/secure_channel.hpp"

#include "net/detail/pnet.hpp"
#include "net/error.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

SecureChannel::SecureChannel(asio::ip::tcp::socket socket)
    : m_transport(std::make_shared<TcpByteStream>(std::move(socket))) {}

SecureChannel::SecureChannel(std::shared_ptr<ByteStream> transport)
    : m_transport(std::move(transport)) {}

void SecureChannel::close() noexcept { m_transport->close(); }

asio::awaitable<Result<void>> SecureChannel::protect(const crypto::Psk& psk) {
    if (m_session || !m_raw_held.empty()) co_return Errc::invalid_state;
    auto protected_stream = co_await PnetByteStream::protect(m_transport, psk);
    if (!protected_stream) co_return protected_stream.error();
    m_transport = std::move(protected_stream).value();
    co_return success();
}

asio::awaitable<Result<Bytes>> SecureChannel::read_raw() {
    if (!m_raw_held.empty()) co_return std::exchange(m_raw_held, {});
    m_read_buffer.resize(kReadChunk);
    auto transport = m_transport;
    auto read = co_await transport->read_some(m_read_buffer);
    if (!read) co_return read.error();
    const std::size_t n = read.value();
    if (n == 0) co_return Errc::connection_closed;
    m_bytes_received += n;
    co_return Bytes(m_read_buffer.begin(), m_read_buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

void SecureChannel::unread_raw(Bytes bytes) {
    bytes.insert(bytes.end(), m_raw_held.begin(), m_raw_held.end());
    m_raw_held = std::move(bytes);
}

asio::awaitable<Result<void>> SecureChannel::write_raw(ByteSpan bytes) {
    auto transport = m_transport;
    co_return co_await transport->write(bytes);
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
