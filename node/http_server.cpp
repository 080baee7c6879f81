#include "node/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "net/spawn.hpp"
#include "node/logging.hpp"

namespace swarmd::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct HttpServer::State {
    State(asio::io_context& io, HttpOptions options) : io(io), options(std::move(options)), acceptor(io) {}
    asio::io_context& io;
    HttpOptions options;
    std::map<std::string, Handler> routes;
    std::map<std::string, PostHandler> post_routes;
    tcp::acceptor acceptor;
    std::size_t active = 0;
    bool stopped = false;
};

namespace {

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

spdlog::logger& http_log() { return *category_logger("node"); }
const net::LogException log_failure{"http handler", http_log};

bool is_json(const http::request<http::string_body>& req) {
    std::string type(req[http::field::content_type]);
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    return type == "application/json";
}

http::response<http::string_body> respond(const HttpServer::State& state,
                                          const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "swarmd");
    res.set(http::field::cache_control, "no-store");
    std::string target(req.target());
    target = target.substr(0, target.find('?'));
    const auto get = state.routes.find(target);
    const auto post = state.post_routes.find(target);
    HttpResponse out;
    if (get == state.routes.end() && post == state.post_routes.end()) {
        out = {404, "text/plain; charset=utf-8", "not found\n"};
    } else if ((req.method() == http::verb::get || req.method() == http::verb::head) && get != state.routes.end()) {
        out = get->second();
    } else if (req.method() == http::verb::post && post != state.post_routes.end()) {
        out = is_json(req) ? post->second(req.body())
                           : HttpResponse{415, "text/plain; charset=utf-8", "POST needs Content-Type: application/json\n"};
    } else {
        out = {405, "text/plain; charset=utf-8", "method not allowed\n"};
        res.set(http::field::allow, get != state.routes.end() ? "GET, HEAD" : "POST");
    }
    res.result(out.status);
    res.set(http::field::content_type, out.content_type);
    res.body() = req.method() == http::verb::head ? std::string() : std::move(out.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) res.content_length(out.body.size());
    return res;
}

asio::awaitable<void> serve(std::shared_ptr<HttpServer::State> state, tcp::socket socket) {
    ++state->active;
    struct Release {
        HttpServer::State& s;
        ~Release() { --s.active; }
    } release{*state};

    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(state->options.max_request_bytes);
    beast::error_code ec;
    while (!state->stopped) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(state->options.max_request_bytes));
        parser.body_limit(state->options.max_request_bytes);
        stream.expires_after(state->options.timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;  // closed, timed out, or a request over the limits
        auto res = respond(*state, parser.get());
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !res.keep_alive()) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state) {
    while (!state->stopped) {
        beast::error_code ec;
        tcp::socket socket = co_await state->acceptor.async_accept(
            asio::redirect_error(asio::use_awaitable, ec));
        if (state->stopped) co_return;
        if (ec) {
            // e.g. out of file descriptors: back off instead of spinning.
            asio::steady_timer delay(state->io, kAcceptRetryDelay);
            co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (state->active >= state->options.max_connections) {
            socket.close(ec);
            continue;
        }
        asio::co_spawn(state->io, serve(state, std::move(socket)), log_failure);
    }
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, HttpOptions options)
    : m_state(std::make_shared<State>(io, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(const std::string& path, Handler handler) {
    m_state->routes[path] = std::move(handler);
}

void HttpServer::route_post(const std::string& path, PostHandler handler) {
    m_state->post_routes[path] = std::move(handler);
}

Result<tcp::endpoint> HttpServer::start() {
    beast::error_code ec;
    auto address = asio::ip::make_address(m_state->options.address, ec);
    if (ec) return std::error_code(ec);
    tcp::endpoint endpoint(address, m_state->options.port);
    auto& acceptor = m_state->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor.close();
        return std::error_code(ec);
    }
    asio::co_spawn(m_state->io, accept_loop(m_state), log_failure);
    return acceptor.local_endpoint();
}

void HttpServer::stop() {
    if (m_state->stopped) return;
    m_state->stopped = true;
    beast::error_code ec;
    m_state->acceptor.close(ec);
}

}  // namespace swarmd::node
