// The status endpoint over real loopback sockets.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "node/ops/http_server.hpp"
#include "node/ops/metrics.hpp"

using namespace swarmd::node;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const std::string kToken(64, 'a');
const std::string kAuth = "Authorization: Bearer " + kToken + "\r\n";

// A blocking client on its own thread, so the server's io_context can run in this one.
std::string http_exchange(tcp::endpoint ep, const std::string& request) {
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
                          o.token = kToken;
                          return o;
                      }()};
    tcp::endpoint ep;
    Served() {
        server.route("/api/status", [] {
            return HttpResponse{200, "application/json", "{\"ok\":true}"};
        });
        server.route_post("/api/merge", [](const std::string& body) {
            return HttpResponse{200, "application/json", "got " + body};
        });
        ep = server.start().value();
    }
    // Runs the server until `client` (on its own thread) returns.
    template <class F>
    void run_client(F client_fn) {
        std::thread client([&] {
            client_fn();
            asio::post(io, [this] {
                server.stop();
                io.stop();
            });
        });
        io.run();
        client.join();
        io.restart();
    }
    // Runs the server until the client function returns.
    std::string run(const std::string& request) {
        std::string reply;
        std::thread client([&] {
            reply = http_exchange(ep, request);
            asio::post(io, [this] {
                server.stop();
                io.stop();
            });
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
    auto ok = s.run("GET /api/status?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    CHECK(ok.starts_with("HTTP/1.1 200 OK"));
    CHECK(ok.find("application/json") != std::string::npos);
    CHECK(ok.ends_with("{\"ok\":true}"));
}

TEST_CASE("http server rejects unknown paths and methods", "[http]") {
    {
        Served s;
        auto r = s.run("GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 404"));
    }
    {
        Served s;
        auto r = s.run("POST /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth +
                       "Content-Length: 2\r\nConnection: close\r\n\r\nhi");
        CHECK(r.starts_with("HTTP/1.1 405"));
    }
}

TEST_CASE("http server takes POST only on its POST routes and only with a JSON body", "[http]") {
    {
        Served s;
        auto r = s.run(
            "POST /api/merge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            kAuth + "Content-Length: 12\r\nConnection: close\r\n\r\n{\"round\":40}");
        CHECK(r.starts_with("HTTP/1.1 200"));
        CHECK(r.ends_with("got {\"round\":40}"));
    }
    {
        // What a cross-site form can send without a preflight is refused.
        Served s;
        auto r =
            s.run("POST /api/merge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n" +
                  kAuth + "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
        CHECK(r.starts_with("HTTP/1.1 415"));
    }
    {
        Served s;
        auto r = s.run("GET /api/merge HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 405"));
        CHECK(r.find("Allow: POST") != std::string::npos);
    }
}

TEST_CASE("http server answers oversized requests 431 and 413 and drops malformed ones",
          "[http][hostile]") {
    {
        Served s;
        auto r = s.run("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                       std::string(20000, 'a') + "\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 431"));
        CHECK(s.server.stats().too_large == 1);
    }
    {
        Served s;
        auto r = s.run(
            "POST /api/merge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            kAuth + "Content-Length: 20000\r\n\r\n" + std::string(20000, ' '));
        CHECK(r.starts_with("HTTP/1.1 413"));
        CHECK(s.server.stats().too_large == 1);
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

TEST_CASE("a DNS-rebinding page is refused by the Host check, GET and POST", "[http][hostile]") {
    {
        Served s;
        auto r = s.run("GET /api/status HTTP/1.1\r\nHost: rebind.example:" +
                       std::to_string(s.ep.port()) + "\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 403"));
        CHECK(r.find("{\"ok\":true}") == std::string::npos);
        CHECK(s.server.stats().bad_host == 1);
    }
    {
        Served s;
        auto r = s.run(
            "POST /api/merge HTTP/1.1\r\nHost: rebind.example\r\nContent-Type: "
            "application/json\r\n" +
            kAuth + "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
        CHECK(r.starts_with("HTTP/1.1 403"));
        CHECK(r.find("got") == std::string::npos);
    }
    {
        // The right address on the wrong port is another server's name.
        Served s;
        auto r =
            s.run("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 403"));
    }
    for (const std::string host : {"127.0.0.1", "localhost", "LOCALHOST:"}) {
        Served s;
        const std::string name = host.ends_with(":") ? host + std::to_string(s.ep.port()) : host;
        auto r =
            s.run("GET /api/status HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 200"));
    }
}

TEST_CASE("POST needs the bearer token and this server's own origin", "[http][hostile]") {
    const std::string post =
        "POST /api/merge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    const std::string tail = "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    {
        Served s;
        auto r = s.run(post + tail);
        CHECK(r.starts_with("HTTP/1.1 401"));
        CHECK(r.find("WWW-Authenticate: Bearer") != std::string::npos);
        CHECK(s.server.stats().bad_token == 1);
    }
    {
        Served s;
        auto r = s.run(post + "Authorization: Bearer " + std::string(64, 'b') + "\r\n" + tail);
        CHECK(r.starts_with("HTTP/1.1 401"));
    }
    {
        Served s;
        auto r = s.run(post + kAuth + "Origin: http://evil.example\r\n" + tail);
        CHECK(r.starts_with("HTTP/1.1 403"));
        CHECK(s.server.stats().bad_origin == 1);
    }
    {
        Served s;
        auto r = s.run(post + kAuth + "Origin: http://127.0.0.1\r\n" + tail);
        CHECK(r.starts_with("HTTP/1.1 200"));
    }
    {
        // Reads on loopback stay open: the dashboard and curl need no token.
        Served s;
        auto r = s.run("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        CHECK(r.starts_with("HTTP/1.1 200"));
    }
}

TEST_CASE("a non-loopback bind needs a token, and then every request carries it",
          "[http][hostile]") {
    asio::io_context io;
    HttpOptions open;
    open.address = "0.0.0.0";
    open.port = 0;
    HttpServer refused(io, open);
    CHECK_FALSE(refused.start());

    HttpOptions guarded = open;
    guarded.token = kToken;
    HttpServer server(io, guarded);
    server.route("/api/status", [] { return HttpResponse{200, "application/json", "{}"}; });
    auto bound = server.start();
    REQUIRE(bound);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), bound.value().port());
    std::string without, with;
    std::thread client([&] {
        without = http_exchange(
            ep, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        with = http_exchange(ep, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth +
                                     "Connection: close\r\n\r\n");
        asio::post(io, [&] {
            server.stop();
            io.stop();
        });
    });
    io.run();
    client.join();
    CHECK(without.starts_with("HTTP/1.1 401"));
    CHECK(with.starts_with("HTTP/1.1 200"));
}

TEST_CASE("sockets trickling requests cannot keep real requests out", "[http][hostile]") {
    Served s;  // 32 slots, 2 s per request
    int answered = 0;
    std::ofstream("/proc/self/clear_refs") << "5";
    auto kib = [](const char* field) {
        std::ifstream in("/proc/self/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind(field, 0) == 0) return std::stoul(line.substr(std::strlen(field)));
        return 0ul;
    };
    const auto before = kib("VmRSS:");
    s.run_client([&] {
        asio::io_context cio;
        std::vector<tcp::socket> trickling;
        auto trickle = [&] {
            tcp::socket t(cio);
            t.connect(s.ep);
            asio::write(t, asio::buffer(std::string(
                               "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")));
            trickling.push_back(std::move(t));
        };
        for (int i = 0; i < 300; ++i) trickle();
        for (int i = 0; i < 30; ++i) {
            for (int j = 0; j < 10; ++j) trickle();
            auto r = http_exchange(
                s.ep, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            if (r.starts_with("HTTP/1.1 200")) ++answered;
        }
    });
    CHECK(answered == 30);
    CHECK(s.server.stats().evicted >= 300);
    const auto growth_mib = (kib("VmHWM:") - std::min(before, kib("VmHWM:"))) / 1024;
    WARN("slowloris: 600 trickling sockets, peak RSS growth " << growth_mib
                                                              << " MiB (bound 16 MiB)");
    CHECK(growth_mib < 16);
}

TEST_CASE("the token file is made once, 0600, and read back", "[http]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("swarmd-token-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto path = dir / kHttpTokenFileName;
    auto made = load_or_create_http_token(path);
    REQUIRE(made);
    CHECK(made.value().size() == 64);
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    auto again = load_or_create_http_token(path);
    REQUIRE(again);
    CHECK(again.value() == made.value());
    CHECK(read_http_token(path).value() == made.value());
    {
        std::ofstream bad(path, std::ios::trunc);
        bad << "not a token\n";
    }
    CHECK_FALSE(read_http_token(path));
    fs::remove_all(dir);
}
