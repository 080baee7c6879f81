#pragma once
// multistream-select on a yamux stream. Bytes that arrive after the agreement (a peer's lazy
// select sends application data right behind its proposal) are pushed back into the stream.
#include <string>
#include <vector>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "net/stream.hpp"

namespace swarmd::net::detail {

boost::asio::awaitable<Result<void>> negotiate_stream_outbound(Stream& stream,
                                                               const std::string& protocol);
boost::asio::awaitable<Result<std::string>> negotiate_stream_inbound(
    Stream& stream, std::vector<std::string> supported);

}  // namespace swarmd::net::detail
