#pragma once
// One request, one answer, over a fresh stream: the skeleton every request/response protocol
// of the node is built on (ZO sync, SAPO base-policy sync, the SAPO merge, and those to come).
//
// The requester opens a stream, writes one length-prefixed request and half-closes; the server
// reads it (at most `max_request` bytes), its handler writes the answer frames, and the
// skeleton half-closes. Both sides run under one deadline for the whole exchange, so a peer
// that stalls costs a stream slot for `timeout` at most. A request that does not arrive, is
// over the bound, or that the handler refuses, resets the stream: the requester reads an error,
// not a half answer. The framing of the answer is the protocol's own (it knows its sizes).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {

class Host;
class Stream;

struct RequestLimits {
    std::size_t max_request = 0;               // bytes of the request frame
    std::chrono::milliseconds timeout{30000};  // the whole exchange
};

// What a handler did with a request: answered it (the skeleton half-closes the stream), or
// refused it as malformed (the stream is reset).
enum class Answer { answered, refused };
using RequestHandler = std::function<boost::asio::awaitable<Answer>(Stream& stream, Bytes request)>;

// Serves `protocol` on `host` with `handler`.
void serve_requests(Host& host, std::string protocol, RequestLimits limits, RequestHandler handler);

// Opens a stream to `peer`, writes `request` and half-closes; the answer is read from the
// returned stream, whose deadline is `timeout` from now.
boost::asio::awaitable<Result<std::shared_ptr<Stream>>> send_request(
    Host& host, const crypto::PeerId& peer, std::string protocol, Bytes request,
    std::chrono::milliseconds timeout);

}  // namespace swarmd::net
