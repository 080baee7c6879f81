#include "net/ping.hpp"

#include <algorithm>

#include "crypto/noise_primitives.hpp"
#include "net/error.hpp"

namespace swarmd::net {

Bytes PingResponder::on_data(ByteSpan bytes) {
    append(m_pending, bytes);
    const std::size_t whole = m_pending.size() / kPingPayloadSize * kPingPayloadSize;
    Bytes echo(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(whole));
    m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(whole));
    return echo;
}

PingClient::PingClient(RandomSource random)
    : m_random(random ? std::move(random) : RandomSource{crypto::random_bytes}) {}

Result<PingPayload> PingClient::start() {
    if (m_outstanding) return Errc::invalid_state;
    m_random(m_sent);
    m_received = 0;
    m_outstanding = true;
    return m_sent;
}

Result<bool> PingClient::on_data(ByteSpan bytes) {
    if (!m_outstanding || bytes.size() > kPingPayloadSize - m_received) return Errc::protocol_error;
    if (!std::equal(bytes.begin(), bytes.end(),
                    m_sent.begin() + static_cast<std::ptrdiff_t>(m_received)))
        return Errc::protocol_error;
    m_received += bytes.size();
    if (m_received < kPingPayloadSize) return false;
    m_outstanding = false;
    return true;
}

}  // namespace swarmd::net
