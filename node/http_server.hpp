#pragma once
// The daemon's small HTTP endpoint (Boost.Beast): /api/status, /metrics, the dashboard and the
// merge request. It binds to loopback by default, accepts GET/HEAD, and POST only on the routes
// registered for it and only with a JSON body (a cross-site form cannot send one without a CORS
// preflight, which this server never grants); it caps request size, connections and time per
// request, and runs its handlers on the io thread (they must return quickly).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "crypto/result.hpp"

namespace swarmd::node {

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

struct HttpOptions {
    static constexpr const char* kDefaultAddress = "127.0.0.1";
    static constexpr std::uint16_t kDefaultPort = 7070;
    static constexpr std::size_t kDefaultMaxRequestBytes = 8 * 1024;
    static constexpr std::size_t kDefaultMaxConnections = 32;
    static constexpr std::chrono::seconds kDefaultTimeout{10};

    std::string address = kDefaultAddress;
    std::uint16_t port = kDefaultPort;  // 0 picks a free port
    std::size_t max_request_bytes = kDefaultMaxRequestBytes;
    std::size_t max_connections = kDefaultMaxConnections;
    std::chrono::milliseconds timeout = kDefaultTimeout;
};

class HttpServer {
public:
    using Handler = std::function<HttpResponse()>;
    using PostHandler = std::function<HttpResponse(const std::string& body)>;

    HttpServer(boost::asio::io_context& io, HttpOptions options);
    ~HttpServer();

    void route(const std::string& path, Handler handler);
    // POST with Content-Type application/json; the body is at most max_request_bytes.
    void route_post(const std::string& path, PostHandler handler);
    // Binds and starts accepting; returns the bound endpoint.
    Result<boost::asio::ip::tcp::endpoint> start();
    void stop();

    struct State;  // shared with the connection coroutines, which may outlive a stop()

private:
    std::shared_ptr<State> m_state;
};

}  // namespace swarmd::node
