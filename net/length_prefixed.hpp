#pragma once
// uvarint-length-prefixed messages, the framing that identify, gossipsub and request/response
// streams share (go pbio / msgio, js it-length-prefixed). The size limit is checked on the
// prefix, before any byte of the body is buffered.
#include <cstddef>
#include <optional>
#include <system_error>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::net {

// out += uvarint(body.size()) || body
void append_length_prefixed(Bytes& out, ByteSpan body);

// Accumulates stream bytes and yields whole messages. Errors: message_too_large (prefix above
// the limit), bad_varint (overlong or non-minimal prefix); after an error the decoder stays failed.
class LengthPrefixedDecoder {
  public:
    explicit LengthPrefixedDecoder(std::size_t max_message_size) : m_max(max_message_size) {}

    // Buffers stream bytes; fails as soon as the next prefix is readable and wrong, so an
    // oversized message is refused before its body arrives. Call next() until it yields nothing
    // after every feed(): the buffer then never holds more than one message plus the last chunk.
    Result<void> feed(ByteSpan bytes);
    // The next whole message body, valid until the next feed(); std::nullopt when more bytes are
    // needed.
    Result<std::optional<ByteSpan>> next();
    // Bytes received but not yet returned as a message (a truncated message at end of stream).
    std::size_t buffered() const noexcept { return m_buffer.size() - m_offset; }

  private:
    std::size_t m_max;
    Bytes m_buffer;
    std::size_t m_offset = 0;
    std::error_code m_error;
};

}  // namespace swarmd::net
