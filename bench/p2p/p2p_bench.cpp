// Handshakes per second and yamux bulk throughput (1 stream, 16 streams), swarmd <-> swarmd
// against js-libp2p <-> js-libp2p over loopback in the same run, printed with ratios.
//
// Each side runs its listener and its dialer in separate threads of execution (two io_context
// threads for swarmd, two node processes for js). A handshake is TCP connect + multistream +
// Noise XX + multistream + yamux, then close. Bulk streams use /swarmd/bench/1.0.0: the dialer
// writes N bytes and closes; the listener counts them and answers with the count.
//
//   bench_p2p [--handshakes N] [--mib N] [--js-dir DIR]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "net/host.hpp"
#include "net/log.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
using namespace swarmd;
using namespace swarmd::net;
using Clock = std::chrono::steady_clock;

constexpr const char* kBenchProtocol = "/swarmd/bench/1.0.0";

struct Results {
    double handshakes_per_s = 0;
    double mb_s_1 = 0;
    double mb_s_16 = 0;
};

// ---------------------------------------------------------------- swarmd <-> swarmd

asio::awaitable<void> serve_bench(std::shared_ptr<Stream> stream) {
    std::vector<std::uint8_t> buffer(256 * 1024);
    std::uint64_t total = 0;
    for (;;) {
        auto n = co_await stream->read_some(buffer);
        if (!n || n.value() == 0) break;
        total += n.value();
    }
    std::array<std::uint8_t, 8> reply{};
    for (int i = 7; i >= 0; --i, total >>= 8)
        reply[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total);
    if (co_await stream->write(reply)) stream->close_write();
}

asio::awaitable<bool> send_bulk(std::shared_ptr<Connection> connection, std::size_t bytes) {
    auto stream = co_await connection->open_stream(kBenchProtocol);
    if (!stream) co_return false;
    Bytes chunk(256 * 1024, 0x5a);
    for (std::size_t sent = 0; sent < bytes;) {
        const std::size_t n = std::min(chunk.size(), bytes - sent);
        if (!co_await stream.value()->write(ByteSpan(chunk).first(n))) co_return false;
        sent += n;
    }
    stream.value()->close_write();
    std::array<std::uint8_t, 8> reply{};
    if (!co_await stream.value()->read_exact(reply)) co_return false;
    std::uint64_t count = 0;
    for (auto b : reply) count = count << 8 | b;
    co_return count == bytes;
}

Results bench_swarmd(std::size_t handshakes, std::size_t total_bytes) {
    HostOptions options;
    options.identify_on_connect = false;
    options.max_inbound = 4096;
    asio::io_context server_io;
    Host server(server_io.get_executor(), crypto::PrivateKey::generate(), options);
    server.set_handler(kBenchProtocol, serve_bench);
    const Multiaddr addr = server.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    auto work = asio::make_work_guard(server_io);
    std::thread server_thread([&] { server_io.run(); });

    Results results;
    asio::io_context io;
    Host client(io.get_executor(), crypto::PrivateKey::generate(), options);
    bool ok = true;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const auto start = Clock::now();
            for (std::size_t i = 0; i < handshakes; ++i) {
                auto connection = co_await client.dial(addr);
                if (!connection) {
                    ok = false;
                    co_return;
                }
                connection.value()->close();
            }
            results.handshakes_per_s = static_cast<double>(handshakes) /
                                       std::chrono::duration<double>(Clock::now() - start).count();

            for (std::size_t streams : {std::size_t{1}, std::size_t{16}}) {
                auto connection = co_await client.dial(addr);
                if (!connection) {
                    ok = false;
                    co_return;
                }
                std::size_t done = 0;
                const std::size_t per_stream = total_bytes / streams;
                const auto bulk_start = Clock::now();
                for (std::size_t s = 0; s < streams; ++s)
                    asio::co_spawn(io, send_bulk(connection.value(), per_stream),
                                   [&](std::exception_ptr e, bool good) {
                                       ok = ok && !e && good;
                                       ++done;
                                   });
                asio::steady_timer poll(io);
                while (done < streams) {
                    poll.expires_after(std::chrono::microseconds(200));
                    co_await poll.async_wait(asio::use_awaitable);
                }
                const double seconds =
                    std::chrono::duration<double>(Clock::now() - bulk_start).count();
                (streams == 1 ? results.mb_s_1 : results.mb_s_16) =
                    static_cast<double>(per_stream * streams) / 1e6 / seconds;
                connection.value()->close();
            }
        },
        [&](std::exception_ptr e) {
            if (e) ok = false;
            client.stop();
        });
    io.run();
    server_io.post([&] {
        server.stop();
        work.reset();
    });
    server_thread.join();
    if (!ok) std::cerr << "swarmd benchmark: a dial or transfer failed\n";
    return results;
}

// ---------------------------------------------------------------- js <-> js

struct Child {
    pid_t pid = -1;
    FILE* out = nullptr;
    int in = -1;
};

Child spawn_js(const std::string& dir, const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
    std::vector<std::string> argv_s{SWARMD_NODE, "--import", "./polyfill.mjs", "peer.mjs"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    Child child;
    const int rc = posix_spawn(&child.pid, SWARMD_NODE, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    if (rc != 0) return {};
    child.in = in[1];
    child.out = fdopen(out[0], "r");
    return child;
}

std::optional<nlohmann::json> read_line(Child& child) {
    char line[8192];
    if (!child.out || !std::fgets(line, sizeof line, child.out)) return std::nullopt;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded()) return std::nullopt;
    return parsed;
}

void finish(Child& child) {
    if (child.in >= 0) close(child.in);
    if (child.pid > 0) {
        kill(child.pid, SIGTERM);
        int status = 0;
        waitpid(child.pid, &status, 0);
    }
    if (child.out) fclose(child.out);
}

std::optional<nlohmann::json> run_js_client(const std::string& dir,
                                            const std::vector<std::string>& args) {
    Child client = spawn_js(dir, args);
    auto result = read_line(client);
    finish(client);
    if (!result || (*result)["event"] == "error") {
        std::cerr << "js client " << args[0]
                  << " failed: " << (result ? result->dump() : "no output") << "\n";
        return std::nullopt;
    }
    return result;
}

std::optional<Results> bench_js(const std::string& dir, std::size_t handshakes,
                                std::size_t total_bytes) {
    if (!std::filesystem::exists(dir + "/node_modules")) return std::nullopt;
    Child listener = spawn_js(dir, {"listen"});
    auto listening = read_line(listener);
    if (!listening) {
        std::cerr << "js listener did not start\n";
        finish(listener);
        return std::nullopt;
    }
    const std::string addr = (*listening)["addrs"][0];
    Results results;
    bool ok = true;
    if (auto r = run_js_client(dir, {"bench-handshake", addr, std::to_string(handshakes)})) {
        results.handshakes_per_s = (*r)["count"].get<double>() / (*r)["seconds"].get<double>();
    } else {
        ok = false;
    }
    for (int streams : {1, 16}) {
        if (auto r = run_js_client(
                dir, {"bench-bulk", addr, std::to_string(total_bytes), std::to_string(streams)})) {
            (streams == 1 ? results.mb_s_1 : results.mb_s_16) =
                (*r)["bytes"].get<double>() / 1e6 / (*r)["seconds"].get<double>();
        } else {
            ok = false;
        }
    }
    finish(listener);
    if (!ok) return std::nullopt;
    return results;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t handshakes = 200;
    std::size_t mib = 64;
    std::string js_dir = SWARMD_JS_PEER_DIR;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--handshakes")
            handshakes = std::stoul(argv[i + 1]);
        else if (flag == "--mib")
            mib = std::stoul(argv[i + 1]);
        else if (flag == "--js-dir")
            js_dir = argv[i + 1];
    }
    net_log().set_level(spdlog::level::err);
    const std::size_t bytes = mib * 1024 * 1024;

    const Results swarmd = bench_swarmd(handshakes, bytes);
    const auto js = bench_js(js_dir, handshakes, bytes);

    std::printf("p2p benchmark: %zu handshakes, %zu MiB bulk, loopback\n", handshakes, mib);
    std::printf("%-24s %14s %14s %10s\n", "metric", "swarmd<->swarmd", "js<->js", "ratio");
    auto row = [&](const char* name, double ours, std::optional<double> theirs) {
        if (theirs && *theirs > 0)
            std::printf("%-24s %14.1f %14.1f %9.2fx\n", name, ours, *theirs, ours / *theirs);
        else
            std::printf("%-24s %14.1f %14s %10s\n", name, ours, "n/a", "n/a");
    };
    row("handshakes/s", swarmd.handshakes_per_s,
        js ? std::optional(js->handshakes_per_s) : std::nullopt);
    row("bulk MB/s, 1 stream", swarmd.mb_s_1, js ? std::optional(js->mb_s_1) : std::nullopt);
    row("bulk MB/s, 16 streams", swarmd.mb_s_16, js ? std::optional(js->mb_s_16) : std::nullopt);
    if (!js)
        std::printf(
            "js-libp2p side not measured: run `ctest -R \"interop: npm ci\"` to install it in %s\n",
            js_dir.c_str());
    return 0;
}
