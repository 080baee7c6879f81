#pragma once
// Gossipsub stream framing: every RPC is a uvarint-length-prefixed protobuf (go msgio, js
// it-length-prefixed). The decoder checks the announced length against the RPC size limit
// before buffering a single byte of the body.
#include <cstddef>
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/result.hpp"

namespace swarmd::net::gossipsub {

// out += uvarint(body.size()) || body
void append_frame(Bytes& out, ByteSpan body);

class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_frame_size) : m_max(max_frame_size) {}

    // Buffers stream bytes. Call next() until it yields nothing after every feed(): then the
    // buffer never holds more than one frame plus the last chunk. Fails (rpc_too_large,
    // bad_length_prefix) as soon as a length prefix is readable and wrong; the decoder stays
    // failed afterwards.
    Result<void> feed(ByteSpan bytes);
    // The next whole frame body, valid until the next feed(); std::nullopt when more bytes are
    // needed.
    Result<std::optional<ByteSpan>> next();
    std::size_t buffered() const noexcept { return m_buffer.size() - m_offset; }

private:
    std::size_t m_max;
    Bytes m_buffer;
    std::size_t m_offset = 0;
    bool m_failed = false;
};

}  // namespace swarmd::net::gossipsub
