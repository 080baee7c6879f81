#include "net/length_prefixed.hpp"

#include "crypto/varint.hpp"
#include "net/error.hpp"

namespace swarmd::net {

void append_length_prefixed(Bytes& out, ByteSpan body) {
    out.reserve(out.size() + varint_size(body.size()) + body.size());
    varint_append(out, body.size());
    append(out, body);
}

Result<std::optional<Bytes>> LengthPrefixedDecoder::next() {
    if (m_error) return m_error;
    const ByteSpan pending = ByteSpan(m_buffer).subspan(m_offset);
    const VarintDecoded prefix = varint_decode(pending);
    switch (prefix.status) {
        case VarintStatus::incomplete:
            return std::optional<Bytes>{};
        case VarintStatus::overflow:
        case VarintStatus::not_minimal:
            return m_error = Errc::bad_varint;
        case VarintStatus::ok:
            break;
    }
    if (prefix.value > m_max) return m_error = Errc::message_too_large;
    if (pending.size() - prefix.length < prefix.value) return std::optional<Bytes>{};
    const auto body = pending.subspan(prefix.length, prefix.value);
    Bytes message(body.begin(), body.end());
    m_offset += prefix.length + prefix.value;
    // Compact once the consumed prefix dominates, so a long-lived stream does not grow forever.
    if (m_offset == m_buffer.size()) {
        m_buffer.clear();
        m_offset = 0;
    } else if (m_offset > m_buffer.size() / 2) {
        m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(m_offset));
        m_offset = 0;
    }
    return std::optional<Bytes>{std::move(message)};
}

}  // namespace swarmd::net
