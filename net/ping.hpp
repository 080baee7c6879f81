#pragma once
// ping /ipfs/ping/1.0.0: the dialer writes 32 random bytes, the listener echoes them, repeated
// on the same stream. Both sides are sans-I/O: they take received bytes and return bytes to send.
#include <array>
#include <functional>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::net {

inline constexpr std::string_view kPingProtocol = "/ipfs/ping/1.0.0";
inline constexpr std::size_t kPingPayloadSize = 32;

using PingPayload = std::array<std::uint8_t, kPingPayloadSize>;
using RandomSource = std::function<void(MutableByteSpan)>;

// The listener: echoes each whole payload; a partial one waits for its remaining bytes.
class PingResponder {
  public:
    Bytes on_data(ByteSpan bytes);

  private:
    Bytes m_pending;
};

// The dialer: one outstanding ping at a time.
class PingClient {
  public:
    // Defaults to the system CSPRNG; tests inject a deterministic source.
    explicit PingClient(RandomSource random = {});

    // The payload to write for the next ping. Fails with invalid_state while one is outstanding.
    Result<PingPayload> start();
    // Feeds echoed bytes: true once the whole echo arrived and matched, false while partial,
    // protocol_error on a mismatch (or on bytes when no ping is outstanding).
    Result<bool> on_data(ByteSpan bytes);

  private:
    RandomSource m_random;
    PingPayload m_sent{};
    std::size_t m_received = 0;
    bool m_outstanding = false;
};

}  // namespace swarmd::net
