#include "net/detail/pnet.hpp"

// GCC 12 flags the recycling allocator of Asio 1.18 coroutine frames as a mismatched new/delete
// once this function is inlined; it is a false positive (same allocator on both sides).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "net/error.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

asio::awaitable<Result<std::shared_ptr<ByteStream>>> PnetByteStream::protect(
    std::shared_ptr<ByteStream> inner, const crypto::Psk& psk) {
    // Both sides write first, so neither waits on the other.
    const auto local = crypto::random_pnet_nonce();
    auto sent = co_await inner->write(local);
    if (!sent) co_return sent.error();
    crypto::XSalsa20Stream::Nonce remote{};
    std::size_t have = 0;
    // Exactly the nonce: what follows it is ciphertext for the protected stream.
    while (have < remote.size()) {
        auto read = co_await inner->read_some(MutableByteSpan(remote).subspan(have));
        if (!read) co_return read.error();
        if (read.value() == 0) co_return Errc::connection_closed;
        have += read.value();
    }
    co_return std::make_shared<PnetByteStream>(std::move(inner), psk, local, remote);
}

asio::awaitable<Result<std::size_t>> PnetByteStream::read_some(MutableByteSpan out) {
    auto inner = m_inner;  // close() may run while this read waits
    auto read = co_await inner->read_some(out);
    if (read) m_in.apply(out.first(read.value()));
    co_return read;
}

asio::awaitable<Result<void>> PnetByteStream::write(ByteSpan bytes) {
    m_write_buffer.assign(bytes.begin(), bytes.end());
    m_out.apply(m_write_buffer);
    auto inner = m_inner;
    co_return co_await inner->write(m_write_buffer);
}

}  // namespace swarmd::net::detail
