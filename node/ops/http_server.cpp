#include "node/ops/http_server.hpp"

#include <algorithm>
#include <cctype>
#include <list>
#include <optional>

#include <sodium.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "net/spawn.hpp"

namespace swarmd::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct HttpServer::State {
    State(asio::io_context& io, HttpOptions options)
        : io(io), options(std::move(options)), acceptor(io) {}
    // One served connection; `waiting_since` is set while it waits for (the rest of) a request.
    struct Slot {
        beast::tcp_stream* stream = nullptr;
        std::optional<std::chrono::steady_clock::time_point> waiting_since;
    };
    asio::io_context& io;
    HttpOptions options;
    std::map<std::string, Handler> routes;
    std::map<std::string, PostHandler> post_routes;
    tcp::acceptor acceptor;
    tcp::endpoint bound;
    std::list<Slot> slots;
    HttpStats stats;
    std::chrono::steady_clock::time_point next_refusal_log{};
    std::uint64_t refusals_unlogged = 0;
    bool stopped = false;
};

namespace {

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

spdlog::logger& http_log() { return *category_log("node"); }
const net::LogException log_failure{"http handler", http_log};

bool is_json(const http::request<http::string_body>& req) {
    std::string type(req[http::field::content_type]);
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    return type == "application/json";
}

void log_refusal(HttpServer::State& state, std::string_view what, const tcp::endpoint& from) {
    const auto now = std::chrono::steady_clock::now();
    if (now < state.next_refusal_log) {
        ++state.refusals_unlogged;
        return;
    }
    if (state.refusals_unlogged > 0) {
        http_log().warn(
            "http request refused: {} from {} (and {} more refused since the last such line)", what,
            from.address().to_string(), state.refusals_unlogged);
    } else {
        http_log().warn("http request refused: {} from {}", what, from.address().to_string());
    }
    state.refusals_unlogged = 0;
    state.next_refusal_log = now + state.options.refusal_log_interval;
}

std::string lower(std::string_view in) {
    std::string out(in);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Whether a Host header names this server: an IP literal it is bound to (any one on a wildcard
// bind) or "localhost" on a loopback or wildcard bind, with its port when a port is given.
bool host_allowed(std::string_view header, const tcp::endpoint& bound) {
    std::string host;
    std::string port;
    if (header.starts_with('[')) {
        const auto close = header.find(']');
        if (close == std::string_view::npos) return false;
        host = std::string(header.substr(1, close - 1));
        const auto rest = header.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return false;
            port = std::string(rest.substr(1));
        }
    } else {
        const auto colon = header.rfind(':');
        host = std::string(header.substr(0, colon));
        if (colon != std::string_view::npos) port = std::string(header.substr(colon + 1));
    }
    if (!port.empty() && port != std::to_string(bound.port())) return false;
    const auto addr = bound.address();
    if (lower(host) == "localhost") return addr.is_loopback() || addr.is_unspecified();
    boost::system::error_code ec;
    const auto named = asio::ip::make_address(host, ec);
    if (ec) return false;  // a DNS name: what a rebinding page sends
    return addr.is_unspecified() || named == addr;
}

bool token_ok(const HttpServer::State& state, const http::request<http::string_body>& req) {
    const auto auth_field = req[http::field::authorization];
    const std::string_view auth(auth_field.data(), auth_field.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth.starts_with(kBearer)) return false;
    const std::string_view given = auth.substr(kBearer.size());
    const std::string& token = state.options.token;
    return given.size() == token.size() &&
           sodium_memcmp(given.data(), token.data(), token.size()) == 0;
}

// The refusal that applies to `req`, as a response, or nothing.
std::optional<HttpResponse> refuse(HttpServer::State& state,
                                   const http::request<http::string_body>& req,
                                   const tcp::endpoint& from) {
    const auto host_field = req[http::field::host];
    const std::string_view host(host_field.data(), host_field.size());
    if (!host_allowed(host, state.bound)) {
        ++state.stats.bad_host;
        log_refusal(state, fmt::format("Host \"{}\" does not name this server", host.substr(0, 64)),
                    from);
        return HttpResponse{403, "text/plain; charset=utf-8", "Host does not name this server\n"};
    }
    const bool post = req.method() == http::verb::post;
    if (post && req.count(http::field::origin) > 0 &&
        lower(std::string(req[http::field::origin])) != "http://" + lower(host)) {
        ++state.stats.bad_origin;
        log_refusal(state, "POST from another origin", from);
        return HttpResponse{403, "text/plain; charset=utf-8", "cross-origin POST refused\n"};
    }
    const bool needs_token =
        !state.options.token.empty() && (post || !state.bound.address().is_loopback());
    if (needs_token && !token_ok(state, req)) {
        ++state.stats.bad_token;
        log_refusal(state, "missing or wrong bearer token", from);
        return HttpResponse{401, "text/plain; charset=utf-8",
                            "this request needs Authorization: Bearer <the node's http.token>\n"};
    }
    return std::nullopt;
}

http::response<http::string_body> respond(HttpServer::State& state,
                                          const http::request<http::string_body>& req,
                                          const tcp::endpoint& from) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "swarmd");
    res.set(http::field::cache_control, "no-store");
    std::string target(req.target());
    target = target.substr(0, target.find('?'));
    const auto get = state.routes.find(target);
    const auto post = state.post_routes.find(target);
    HttpResponse out;
    if (auto refused = refuse(state, req, from)) {
        out = std::move(*refused);
        if (out.status == 401) res.set(http::field::www_authenticate, "Bearer");
    } else if (get == state.routes.end() && post == state.post_routes.end()) {
        out = {404, "text/plain; charset=utf-8", "not found\n"};
    } else if ((req.method() == http::verb::get || req.method() == http::verb::head) &&
               get != state.routes.end()) {
        out = get->second();
    } else if (req.method() == http::verb::post && post != state.post_routes.end()) {
        out = is_json(req) ? post->second(req.body())
                           : HttpResponse{415, "text/plain; charset=utf-8",
                                          "POST needs Content-Type: application/json\n"};
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

http::response<http::string_body> plain(unsigned status, std::string body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "swarmd");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
}

asio::awaitable<void> serve(std::shared_ptr<HttpServer::State> state, tcp::socket socket) {
    beast::error_code ec;
    const tcp::endpoint from = socket.remote_endpoint(ec);
    beast::tcp_stream stream(std::move(socket));
    auto slot = state->slots.insert(state->slots.end(), HttpServer::State::Slot{&stream, {}});
    struct Release {
        HttpServer::State& s;
        std::list<HttpServer::State::Slot>::iterator slot;
        ~Release() { s.slots.erase(slot); }
    } release{*state, slot};

    beast::flat_buffer buffer(state->options.max_request_bytes);
    while (!state->stopped) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(state->options.max_request_bytes));
        parser.body_limit(state->options.max_request_bytes);
        stream.expires_after(state->options.timeout);
        slot->waiting_since = std::chrono::steady_clock::now();
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
        slot->waiting_since.reset();
        if (ec == http::error::header_limit || ec == http::error::body_limit) {
            const bool header = ec == http::error::header_limit;
            ++state->stats.too_large;
            log_refusal(*state,
                        header ? "request head over the limit" : "request body over the limit",
                        from);
            auto res = header ? plain(431, "request header fields too large\n")
                              : plain(413, "request body too large\n");
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            break;
        }
        if (ec) break;  // closed, timed out, evicted or malformed
        auto res = respond(*state, parser.get(), from);
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !res.keep_alive()) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// With every slot taken, the connection that has waited longest for its request makes room.
bool evict_slowest(HttpServer::State& state) {
    auto slowest = state.slots.end();
    for (auto it = state.slots.begin(); it != state.slots.end(); ++it) {
        if (!it->waiting_since) continue;
        if (slowest == state.slots.end() || *it->waiting_since < *slowest->waiting_since)
            slowest = it;
    }
    if (slowest == state.slots.end()) return false;
    slowest->waiting_since.reset();
    beast::error_code ignored;
    slowest->stream->socket().close(ignored);
    slowest->stream = nullptr;  // no longer counted; the slot goes once its coroutine unwinds
    ++state.stats.evicted;
    return true;
}

asio::awaitable<void> accept_loop(std::shared_ptr<HttpServer::State> state) {
    while (!state->stopped) {
        beast::error_code ec;
        tcp::socket socket =
            co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (state->stopped) co_return;
        if (ec) {
            // e.g. out of file descriptors: back off instead of spinning.
            asio::steady_timer delay(state->io, kAcceptRetryDelay);
            co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const auto live = static_cast<std::size_t>(
            std::count_if(state->slots.begin(), state->slots.end(),
                          [](const auto& slot) { return slot.stream != nullptr; }));
        if (live >= state->options.max_connections && !evict_slowest(*state)) {
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

Result<std::string> read_http_token(const std::filesystem::path& path) {
    Bytes raw;
    if (auto ec = read_secret_file(path, raw, 1024, 077)) return ec;
    std::string token(raw.begin(), raw.end());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
    const bool hex =
        token.size() == 64 && std::all_of(token.begin(), token.end(), [](unsigned char c) {
            return std::isdigit(c) || (c >= 'a' && c <= 'f');
        });
    if (!hex) return std::make_error_code(std::errc::invalid_argument);
    return token;
}

Result<std::string> load_or_create_http_token(const std::filesystem::path& path) {
    std::error_code exists_ec;
    if (std::filesystem::exists(path, exists_ec)) return read_http_token(path);
    Bytes secret(32);
    randombytes_buf(secret.data(), secret.size());
    std::string token = hex_encode(secret);
    const std::string line = token + "\n";
    if (auto ec = write_file_atomic(
            path, ByteSpan(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()), 0600,
            Overwrite::refuse))
        return ec;
    return token;
}

const HttpStats& HttpServer::stats() const { return m_state->stats; }

Result<tcp::endpoint> HttpServer::start() {
    beast::error_code ec;
    auto address = asio::ip::make_address(m_state->options.address, ec);
    if (ec) return std::error_code(ec);
    // Anyone who can reach a non-loopback address could read the node's state and ask it to merge.
    if (!address.is_loopback() && m_state->options.token.empty())
        return std::make_error_code(std::errc::permission_denied);
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
    m_state->bound = acceptor.local_endpoint();
    asio::co_spawn(m_state->io, accept_loop(m_state), log_failure);
    return m_state->bound;
}

void HttpServer::stop() {
    if (m_state->stopped) return;
    m_state->stopped = true;
    beast::error_code ec;
    m_state->acceptor.close(ec);
}

}  // namespace swarmd::node
