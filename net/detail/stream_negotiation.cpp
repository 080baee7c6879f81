#include "net/detail/stream_negotiation.hpp"

#include <array>

#include "net/error.hpp"
#include "net/multistream.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

namespace {

// Feeds the negotiator until it agrees, writing its answers; end of stream is truncated_message.
template <class Negotiator>
asio::awaitable<Result<void>> drive(Stream& stream, Negotiator& negotiator) {
    std::array<std::uint8_t, 1024> buffer{};
    while (!negotiator.agreed()) {
        auto n = co_await stream.read_some(buffer);
        if (!n) co_return n.error();
        if (n.value() == 0) co_return Errc::truncated_message;
        auto step = negotiator.feed(ByteSpan(buffer).first(n.value()));
        if (!step) co_return step.error();
        if (!step.value().output.empty()) {
            auto written = co_await stream.write(step.value().output);
            if (!written) co_return written.error();
        }
    }
    stream.unread(negotiator.take_leftover());
    co_return success();
}

}  // namespace

asio::awaitable<Result<void>> negotiate_stream_outbound(Stream& stream,
                                                        const std::string& protocol) {
    MultistreamDialer dialer({protocol});
    auto sent = co_await stream.write(dialer.start());
    if (!sent) co_return sent.error();
    co_return co_await drive(stream, dialer);
}

asio::awaitable<Result<std::string>> negotiate_stream_inbound(Stream& stream,
                                                              std::vector<std::string> supported) {
    MultistreamListener listener(std::move(supported));
    auto agreed = co_await drive(stream, listener);
    if (!agreed) co_return agreed.error();
    co_return listener.protocol();
}

}  // namespace swarmd::net::detail
