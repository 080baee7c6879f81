#pragma once
// The connection upgrade over TCP: multistream-select "/noise" on the raw socket, the Noise XX
// handshake, then multistream-select "/yamux/1.0.0" inside Noise. `phase` always names the step
// in progress, so a failure (or the watchdog closing the socket) is reported with it.
#include <functional>
#include <memory>
#include <optional>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/psk.hpp"
#include "net/detail/secure_channel.hpp"
#include "net/host_error.hpp"
#include "net/multistream.hpp"
#include "net/noise.hpp"
#include "net/yamux.hpp"

namespace swarmd::net::detail {

enum class Layer { raw, secured };

// Negotiates one protocol as the dialer; leftover bytes go back into the channel.
boost::asio::awaitable<Result<void>> negotiate_outbound(SecureChannel& channel, Layer layer,
                                                        std::string protocol,
                                                        MultistreamOptions options = {});
// Negotiates as the listener and returns the agreed protocol.
boost::asio::awaitable<Result<std::string>> negotiate_inbound(SecureChannel& channel, Layer layer,
                                                              std::vector<std::string> supported,
                                                              MultistreamOptions options = {});

// Whether to go on with a peer Noise has just authenticated.
using AdmitPeer = std::function<bool(const crypto::PeerId&)>;

// Runs the whole upgrade; on success the channel is secured and positioned at the first yamux
// byte. `expected_remote` (outbound only) is the /p2p/ id of the dialed address. With a `psk`
// the private-network protector comes first; a peer outside that network (another key or none)
// then fails with private_network_mismatch. A peer `admit` refuses fails with peer_not_allowed
// right after the Noise handshake, before the muxer is negotiated.
boost::asio::awaitable<Result<NoiseRemote>> upgrade(SecureChannel& channel, bool outbound,
                                                    std::shared_ptr<const NoiseIdentity> identity,
                                                    std::optional<crypto::PeerId> expected_remote,
                                                    Phase& phase, const crypto::Psk* psk = nullptr,
                                                    AdmitPeer admit = {});

}  // namespace swarmd::net::detail
