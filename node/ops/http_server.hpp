#pragma once
// The daemon's small HTTP endpoint (Boost.Beast): /api/status, /metrics, the dashboard and the
// merge request. It binds to loopback by default, accepts GET/HEAD, and POST only on the routes
// registered for it and only with a JSON body (a cross-site form cannot send one without a CORS
// preflight, which this server never grants); it caps request size, connections and time per
// request, and runs its handlers on the io thread (they must return quickly).
//
// Against a web page in the operator's browser and against other hosts:
// - the Host header must name this server by IP literal (or "localhost" on a loopback or
//   wildcard bind) and its port, so a DNS-rebinding page, whose Host is its own name, is refused;
// - a POST carrying an Origin must come from this server's own origin;
// - with a token set, every POST needs "Authorization: Bearer <token>", and on a non-loopback
//   bind every request does; a non-loopback bind without a token does not start;
// - a request over the size limits is answered 413/431; when every connection slot is taken,
//   the connection that has waited longest for its request is closed to admit the new one, so
//   sockets trickling bytes cannot keep real requests out.
// Refusals are counted (stats()) and logged at most once per interval.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/result.hpp"

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
    // Bearer token for POST (and for everything on a non-loopback bind); empty: none.
    std::string token;
    std::chrono::seconds refusal_log_interval{10};
};

// Requests refused, by reason; exported by the daemon on /metrics.
struct HttpStats {
    std::uint64_t bad_host = 0;    // Host header not naming this server
    std::uint64_t bad_origin = 0;  // POST from another origin
    std::uint64_t bad_token = 0;   // missing or wrong bearer token
    std::uint64_t too_large = 0;   // 413 or 431
    std::uint64_t evicted = 0;     // slow connections closed to admit new ones
};

// The bearer token file in the data directory: 32 random bytes in hex, mode 0600, written
// atomically. The daemon creates it on first start; `swarmd merge` reads it.
inline constexpr const char* kHttpTokenFileName = "http.token";
Result<std::string> load_or_create_http_token(const std::filesystem::path& path);
Result<std::string> read_http_token(const std::filesystem::path& path);

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
    const HttpStats& stats() const;

    struct State;  // shared with the connection coroutines, which may outlive a stop()

  private:
    std::shared_ptr<State> m_state;
};

}  // namespace swarmd::node
