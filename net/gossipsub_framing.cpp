#include "net/gossipsub_framing.hpp"

#include "crypto/varint.hpp"
#include "net/gossipsub_error.hpp"

namespace swarmd::net::gossipsub {

void append_frame(Bytes& out, ByteSpan body) {
    varint_append(out, body.size());
    append(out, body);
}

Result<void> FrameDecoder::feed(ByteSpan bytes) {
    if (m_failed) return Errc::bad_length_prefix;
    if (m_offset > 0) {
        m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(m_offset));
        m_offset = 0;
    }
    append(m_buffer, bytes);
    // Refuse an oversized frame on its prefix, before waiting for (and buffering) its body.
    BOOST_OUTCOME_TRY(first, next());
    if (first) m_offset -= varint_size(first->size()) + first->size();  // peeked, not consumed
    return success();
}

Result<std::optional<ByteSpan>> FrameDecoder::next() {
    if (m_failed) return Errc::bad_length_prefix;
    const ByteSpan rest = ByteSpan(m_buffer).subspan(m_offset);
    const auto d = varint_decode(rest);
    switch (d.status) {
        case VarintStatus::incomplete: return std::optional<ByteSpan>{};
        case VarintStatus::overflow:
        case VarintStatus::not_minimal: m_failed = true; return Errc::bad_length_prefix;
        case VarintStatus::ok: break;
    }
    if (d.value > m_max) {
        m_failed = true;
        return Errc::rpc_too_large;
    }
    if (rest.size() - d.length < d.value) return std::optional<ByteSpan>{};
    m_offset += d.length + d.value;
    return std::optional<ByteSpan>{rest.subspan(d.length, d.value)};
}

}  // namespace swarmd::net::gossipsub
