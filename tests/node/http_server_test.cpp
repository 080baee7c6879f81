// The status endpoint over real loopback sockets.
#include <catch2/catch.hpp>

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "node/http_server.hpp"
#include "node/metrics.hpp"

using namespace swarmd::node;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A blocking client on its own thread, so the server's io_context can run in this one.
std::string exchange(tcp::endpoint ep, const std::string& request) {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(ep);
    asio::write(s, asio::buffer(request));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
        auto n = s.read_some(asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    return out;
}

struct Served {
    asio::io_context io;
    HttpServer server{io, [] {
                          HttpOptions o;
                          o.port = 0;
                          o.timeout = std::chrono::milliseconds(2000);
                          return o;
                      }()};
    tcp::endpoint ep;
    Served() {
        server.route("/api/status", [] { return HttpResponse{200, "application/json", "{\"ok\":true}"}; });
        server.route_post("/api/merge", [](const std::string& body) {
            return HttpResponse{200, "application/json", "got " + body};
        });
        ep = server.start().value();
    }
    // Runs the server until the client function returns.
    std::string run(const std::string& request) {
        std::string reply;
        std::thread client([&] {
            reply = exchange(ep, request);
            asio::post(io, [this] { server.stop(); io.stop(); });
        });
        io.run();
        client.join();
        io.restart();
        return reply;
    }
};

}  // namespace

TEST_CASE("http server answers routes, 404 and 405", "[http]") {
    Served s;
    CHECK(s.ep.address().is_loopback());
    auto ok = s.run("GET /api/status?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(ok.starts_with("HTTP/1.1 200 OK"));
    CHECK(ok.find("application/json") != std::string::npos);
    CHECK(ok.ends_with("{\"ok\":true}"));
}

TEST_CASE("http server rejects unknown paths and methods", "[http]") {
    {
        Served s;
        auto r = s.run("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 404"));
    }
    {
        Served s;
        auto r = s.run("POST /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
        CHECK(r.starts_with("HTTP/1.1 405"));
    }
}

TEST_CASE("http server takes POST only on its POST routes and only with a JSON body", "[http]") {
    {
        Served s;
        auto r = s.run("POST /api/merge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 12\r\nConnection: close\r\n\r\n{\"round\":40}");
        CHECK(r.starts_with("HTTP/1.1 200"));
        CHECK(r.ends_with("got {\"round\":40}"));
    }
    {
        // What a cross-site form can send without a preflight is refused.
        Served s;
        auto r = s.run("POST /api/merge HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
        CHECK(r.starts_with("HTTP/1.1 415"));
    }
    {
        Served s;
        auto r = s.run("GET /api/merge HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 405"));
        CHECK(r.find("Allow: POST") != std::string::npos);
    }
}

TEST_CASE("http server drops oversized and malformed requests without answering", "[http]") {
    {
        Served s;
        auto r = s.run("GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                       "\r\n\r\n");
        CHECK(r.empty());
    }
    {
        Served s;
        auto r = s.run("\x16\x03\x01 garbage that is not http\r\n\r\n");
        CHECK(r.find("200 OK") == std::string::npos);
    }
}

TEST_CASE("metrics render in the Prometheus text format", "[metrics]") {
    Metrics m;
    m.counter("swarmd_messages_in_total", "Gossip messages received", "topic=\"zo\"").add(3);
    m.counter("swarmd_messages_in_total", "Gossip messages received", "topic=\"status\"").add();
    m.gauge("swarmd_round", "Current training round").set(12);
    CHECK(&m.counter("swarmd_messages_in_total", "", "topic=\"zo\"") ==
          &m.counter("swarmd_messages_in_total", "", "topic=\"zo\""));
    auto text = m.render_prometheus();
    CHECK(text ==
          "# HELP swarmd_messages_in_total Gossip messages received\n"
          "# TYPE swarmd_messages_in_total counter\n"
          "swarmd_messages_in_total{topic=\"zo\"} 3\n"
          "swarmd_messages_in_total{topic=\"status\"} 1\n"
          "# HELP swarmd_round Current training round\n"
          "# TYPE swarmd_round gauge\n"
          "swarmd_round 12\n");
    CHECK_THROWS(m.gauge("swarmd_messages_in_total", "clash", "topic=\"zo\""));
    CHECK_THROWS(m.counter("9bad", "bad name"));
}

TEST_CASE("a labelled sample registered later still renders within its family", "[metrics]") {
    Metrics m;
    m.counter("swarmd_refused_total", "Refused", "reason=\"a\"").add(1);
    m.gauge("swarmd_round", "Current training round").set(2);
    m.counter("swarmd_refused_total", "Refused", "reason=\"b\"").set(5);
    CHECK(m.render_prometheus() ==
          "# HELP swarmd_refused_total Refused\n"
          "# TYPE swarmd_refused_total counter\n"
          "swarmd_refused_total{reason=\"a\"} 1\n"
          "swarmd_refused_total{reason=\"b\"} 5\n"
          "# HELP swarmd_round Current training round\n"
          "# TYPE swarmd_round gauge\n"
          "swarmd_round 2\n");
}
