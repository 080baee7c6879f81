#pragma once
// The libp2p private-network connection protector (pnet, PSK v1): the first layer over a TCP
// socket, below multistream-select. Each side sends a random 24-byte nonce, then XORs all it
// writes with XSalsa20(psk, own nonce) and decrypts what it reads with XSalsa20(psk, peer's
// nonce). There is no authentication here: a peer with another key (or none) shows up as garbage
// at the multistream header, which the upgrade reports as private_network_mismatch.
#include <memory>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "crypto/psk.hpp"
#include "net/detail/byte_stream.hpp"

namespace swarmd::net::detail {

class PnetByteStream final : public ByteStream {
  public:
    // Sends our nonce and reads the peer's; the inner stream is then only used through the
    // returned one. Fails with connection_closed if the peer hangs up before its nonce.
    static boost::asio::awaitable<Result<std::shared_ptr<ByteStream>>> protect(
        std::shared_ptr<ByteStream> inner, const crypto::Psk& psk);

    PnetByteStream(std::shared_ptr<ByteStream> inner, const crypto::Psk& psk,
                   const crypto::XSalsa20Stream::Nonce& local,
                   const crypto::XSalsa20Stream::Nonce& remote)
        : m_inner(std::move(inner)), m_out(psk, local), m_in(psk, remote) {}

    boost::asio::awaitable<Result<std::size_t>> read_some(MutableByteSpan out) override;
    // Callers serialize writes (the keystream follows their order).
    boost::asio::awaitable<Result<void>> write(ByteSpan bytes) override;
    void close_write() noexcept override { m_inner->close_write(); }
    void close() noexcept override { m_inner->close(); }
    boost::asio::any_io_executor executor() override { return m_inner->executor(); }

  private:
    std::shared_ptr<ByteStream> m_inner;
    crypto::XSalsa20Stream m_out;
    crypto::XSalsa20Stream m_in;
    Bytes m_write_buffer;
};

}  // namespace swarmd::net::detail
