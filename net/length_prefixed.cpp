#include "net/length_prefixed.hpp"

#include "base/varint.hpp"
#include "net/error.hpp"

namespace swarmd::net {

void append_length_prefixed(Bytes& out, ByteSpan body) {
    out.reserve(out.size() + varint_size(body.size()) + body.size());
    varint_append(out, body.size());
    append(out, body);
}

Result<void> LengthPrefixedDecoder::feed(ByteSpan bytes) {
    if (m_error) return m_error;
    // Messages already returned are dropped here, not in next(): their views stay valid until now.
    if (m_offset > 0) {
        m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(m_offset));
        m_offset = 0;
    }
    append(m_buffer, bytes);
    BOOST_OUTCOME_TRY(first, next());
    if (first) m_offset = 0;  // peeked, not consumed
    return success();
}

Result<std::optional<ByteSpan>> LengthPrefixedDecoder::next() {
    if (m_error) return m_error;
    const ByteSpan pending = ByteSpan(m_buffer).subspan(m_offset);
    const VarintDecoded prefix = varint_decode(pending);
    switch (prefix.status) {
        case VarintStatus::incomplete:
            return std::optional<ByteSpan>{};
        case VarintStatus::overflow:
        case VarintStatus::not_minimal:
            return m_error = Errc::bad_varint;
        case VarintStatus::ok:
            break;
    }
    if (prefix.value > m_max) return m_error = Errc::message_too_large;
    if (pending.size() - prefix.length < prefix.value) return std::optional<ByteSpan>{};
    m_offset += prefix.length + prefix.value;
    return std::optional<ByteSpan>{pending.subspan(prefix.length, prefix.value)};
}

}  // namespace swarmd::net
