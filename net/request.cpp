#include "net/request.hpp"

#include "net/host.hpp"
#include "net/stream.hpp"

namespace swarmd::net {
namespace asio = boost::asio;

void serve_requests(Host& host, std::string protocol, RequestLimits limits,
                    RequestHandler handler) {
    host.set_handler(std::move(protocol),
                     [limits, handler = std::move(handler)](
                         std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
                         stream->set_deadline(std::chrono::steady_clock::now() + limits.timeout);
                         auto request = co_await stream->read_length_prefixed(limits.max_request);
                         if (!request) {
                             stream->reset();
                             co_return;
                         }
                         const auto answer = co_await handler(*stream, std::move(request.value()));
                         if (answer == Answer::answered) {
                             stream->close_write();
                         } else {
                             stream->reset();
                         }
                     });
}

asio::awaitable<Result<std::shared_ptr<Stream>>> send_request(Host& host,
                                                              const crypto::PeerId& peer,
                                                              std::string protocol, Bytes request,
                                                              std::chrono::milliseconds timeout) {
    auto stream = co_await host.open_stream(peer, std::move(protocol));
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    s.set_deadline(std::chrono::steady_clock::now() + timeout);
    if (auto written = co_await s.write_length_prefixed(request); !written) {
        s.reset();
        co_return written.error();
    }
    s.close_write();
    co_return std::move(stream.value());
}

}  // namespace swarmd::net
