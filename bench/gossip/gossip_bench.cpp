// Gossipsub over real sockets: N swarmd processes against N js-libp2p processes on loopback, in
// one run, same topology (ring + chords: node i links to i+1 and i+chord, mod N) and the same
// publish rates. Each step every node publishes rate/N messages/s for a few seconds; the payload
// carries its scheduled send time (CLOCK_MONOTONIC, shared by all processes on the machine), so
// each receiver records propagation latency, publishing backlog included. Rates rise until an
// implementation stops keeping up (delivery below 99% or p99 above 1 s); the table shows each
// step and the highest sustained rate, with swarmd/js ratios.
//
//   bench_gossip [--nodes 16] [--chord 4] [--rates 25,50,100,...] [--seconds 5] [--size 64]
//                [--impl both|swarmd|js] [--js-dir DIR]
//   bench_gossip node TOPIC    one swarmd node, driven over stdin/stdout by the same JSON-lines
//                              protocol as `peer.mjs gossip TOPIC --quiet` (see peer.mjs)
//
// Run it niced (`nice -n 10`); it takes minutes and is not part of ctest.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "net/host.hpp"
#include "net/pubsub.hpp"
#include "net/spawn.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
using namespace swarmd;
using namespace swarmd::net;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kMagic = "swdbench";
constexpr std::size_t kStampEnd = 16;
const std::string kTopic = "swarmd/bench/gossip";

std::uint64_t monotonic_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// ------------------------------------------------------------------------ node mode

class BenchNode {
  public:
    explicit BenchNode(asio::io_context& io) : m_io(io), m_in(io, ::dup(0)), m_out(io, ::dup(1)) {
        auto key = crypto::PrivateKey::generate();
        m_host = std::make_unique<Host>(
            io.get_executor(), crypto::PrivateKey::from_protobuf(key.to_protobuf()).value());
        m_pubsub = std::make_shared<Pubsub>(io.get_executor(), *m_host, std::move(key));
        m_host->on_identify([this](const std::shared_ptr<Connection>& c, const IdentifyInfo& info) {
            m_pubsub->peer_identified(c, info);
        });
        m_host->on_connection_closed([this](const std::shared_ptr<Connection>& c) {
            m_pubsub->peer_closed(c->remote_peer());
        });
        m_addr = m_host->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        m_pubsub->start();
        m_pubsub->subscribe(kTopic, [this](const gossipsub::Delivery& d) { on_delivery(d); });
    }

    asio::awaitable<void> serve() {
        emit({{"event", "listening"},
              {"peerId", m_host->peer_id().to_base58()},
              {"addrs", {m_addr.to_string()}}});
        asio::streambuf buffer;
        for (;;) {
            boost::system::error_code ec;
            co_await asio::async_read_until(m_in, buffer, '\n',
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            std::istream stream(&buffer);
            std::string line;
            std::getline(stream, line);
            if (line.empty()) continue;
            const json command = json::parse(line, nullptr, false);
            if (command.is_discarded()) continue;
            asio::co_spawn(m_io, run(command), net::LogException{"bench command"});
        }
        m_pubsub->stop();
        m_host->stop();
        m_io.stop();
    }

  private:
    asio::awaitable<void> run(json c) {
        const std::string cmd = c.value("cmd", "");
        if (cmd == "dial") {
            auto connection =
                co_await m_host->dial(Multiaddr::parse(c["addr"].get<std::string>()).value());
            if (!connection) {
                emit({{"event", "error"}, {"message", connection.error().message()}});
            } else {
                emit({{"event", "dialed"},
                      {"peerId", connection.value()->remote_peer().to_base58()}});
            }
        } else if (cmd == "mesh") {
            json mesh = json::array(), topic_peers = json::array();
            for (const auto& p : m_pubsub->router().mesh_peers(kTopic))
                mesh.push_back(p.to_base58());
            for (const auto& p : m_pubsub->router().topic_peers(kTopic))
                topic_peers.push_back(p.to_base58());
            emit({{"event", "mesh"}, {"mesh", mesh}, {"topicPeers", topic_peers}});
        } else if (cmd == "bench") {
            co_await bench(c["rate"].get<double>(), c["seconds"].get<double>(),
                           c["size"].get<std::size_t>());
        } else if (cmd == "report") {
            emit({{"event", "report"},
                  {"received", m_received},
                  {"duplicates", m_duplicates},
                  {"latencies_us", m_latencies_us}});
            m_received = m_duplicates = 0;
            m_latencies_us.clear();
        }
    }

    // Publishes on the schedule start + k/rate; a late publisher sends its backlog at once, and
    // the stamps keep the schedule, so falling behind shows as latency.
    asio::awaitable<void> bench(double rate, double seconds, std::size_t size) {
        const auto total = static_cast<std::size_t>(rate * seconds + 0.5);
        const auto step =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
        const auto start = Clock::now();
        Bytes payload(std::max(size, kStampEnd), 0);
        std::copy(kMagic.begin(), kMagic.end(), payload.begin());
        asio::steady_timer timer(m_io);
        std::size_t published = 0, errors = 0;
        for (std::size_t k = 0; k < total; ++k) {
            const auto due = start + step * k;
            if (due > Clock::now()) {
                timer.expires_at(due);
                co_await timer.async_wait(asio::use_awaitable);
            }
            const std::uint64_t stamp = monotonic_ns(due);
            for (int b = 0; b < 8; ++b)
                payload[8 + b] = static_cast<std::uint8_t>(stamp >> (56 - 8 * b));
            if (m_pubsub->publish(kTopic, payload)) {
                ++published;
            } else {
                ++errors;
            }
        }
        emit({{"event", "bench-done"}, {"published", published}, {"errors", errors}});
    }

    void on_delivery(const gossipsub::Delivery& d) {
        if (!m_seen.insert(d.id).second) ++m_duplicates;
        if (d.data.size() < kStampEnd || !std::equal(kMagic.begin(), kMagic.end(), d.data.begin()))
            return;
        std::uint64_t stamp = 0;
        for (int b = 0; b < 8; ++b) stamp = stamp << 8 | d.data[8 + b];
        ++m_received;
        m_latencies_us.push_back(static_cast<double>(monotonic_ns(Clock::now()) - stamp) / 1000.0);
    }

    void emit(const json& line) {
        // Lines are small except reports; a blocking write keeps them whole and in order.
        const std::string text = line.dump() + "\n";
        boost::system::error_code ec;
        asio::write(m_out, asio::buffer(text), ec);
    }

    asio::io_context& m_io;
    asio::posix::stream_descriptor m_in;
    asio::posix::stream_descriptor m_out;
    std::unique_ptr<Host> m_host;
    std::shared_ptr<Pubsub> m_pubsub;
    Multiaddr m_addr;
    std::unordered_set<gossipsub::MessageId> m_seen;
    std::size_t m_received = 0;
    std::size_t m_duplicates = 0;
    std::vector<double> m_latencies_us;
};

int run_node() {
    spdlog::set_level(spdlog::level::warn);
    asio::io_context io(1);
    BenchNode node(io);
    asio::co_spawn(io, node.serve(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::cerr << "bench node: " << ex.what() << "\n";
        }
    });
    io.run();
    return 0;
}

// ------------------------------------------------------------------------ driver

// A node process spoken to in JSON lines; reads block with a deadline.
class Child {
  public:
    Child(const std::vector<std::string>& argv_s, const std::string& dir, const std::string& log) {
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_addclose(&actions, in[1]);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
        std::vector<std::string> copy = argv_s;
        std::vector<char*> argv;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        close(out[1]);
        if (rc != 0) throw std::runtime_error("cannot start " + argv_s[0]);
        m_in = in[1];
        m_out = out[0];
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (m_in >= 0) close(m_in);
        if (m_pid > 0) {
            // Closing stdin ends a node; give it a moment, then insist.
            for (int i = 0; i < 50; ++i) {
                if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
                    m_pid = -1;
                    break;
                }
                usleep(20'000);
            }
            if (m_pid > 0) {
                kill(m_pid, SIGKILL);
                waitpid(m_pid, nullptr, 0);
            }
        }
        if (m_out >= 0) close(m_out);
    }

    void send(const json& command) {
        const std::string line = command.dump() + "\n";
        if (write(m_in, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw std::runtime_error("node stdin closed");
    }

    // The next line with "event": `event`; throws on an "error" line, EOF or the deadline.
    json expect(const std::string& event, std::chrono::seconds limit = 60s) {
        const auto deadline = Clock::now() + limit;
        for (;;) {
            json line = json::parse(next_line(deadline));
            const std::string got = line.value("event", "");
            if (got == event) return line;
            if (got == "error") throw std::runtime_error("node error: " + line.dump());
        }
    }

  private:
    std::string next_line(Clock::time_point deadline) {
        for (;;) {
            if (auto nl = m_buffer.find('\n'); nl != std::string::npos) {
                std::string line = m_buffer.substr(0, nl);
                m_buffer.erase(0, nl + 1);
                return line;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) throw std::runtime_error("node: no answer before the deadline");
            pollfd p{m_out, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[65536];
            const ssize_t n = read(m_out, chunk, sizeof chunk);
            if (n <= 0) throw std::runtime_error("node exited");
            m_buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }

    pid_t m_pid = -1;
    int m_in = -1;
    int m_out = -1;
    std::string m_buffer;
};

struct Options {
    std::size_t nodes = 16;
    std::size_t chord = 4;
    std::vector<double> rates{25, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800};
    double seconds = 5;
    std::size_t size = 64;
    std::string impl = "both";
    std::string js_dir = SWARMD_JS_PEER_DIR;
    std::string self;
};

struct Step {
    double offered = 0;
    std::size_t published = 0;
    std::size_t delivered = 0;
    std::size_t duplicates = 0;
    double delivery = 0;  // delivered / (published * (nodes - 1))
    double delivered_per_s = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    bool sustained = false;
};

constexpr double kSustainedDelivery = 0.99;
constexpr double kSustainedP99Ms = 1000;
constexpr auto kDrain = 2s;

double percentile(std::vector<double>& v, double q) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::vector<Step> run_impl(const std::string& impl, const Options& o) {
    std::vector<std::unique_ptr<Child>> nodes;
    const std::string log = std::filesystem::absolute("bench_gossip_" + impl + ".log").string();
    for (std::size_t i = 0; i < o.nodes; ++i) {
        if (impl == "swarmd") {
            nodes.push_back(
                std::make_unique<Child>(std::vector<std::string>{o.self, "node", kTopic}, "", log));
        } else {
            nodes.push_back(std::make_unique<Child>(
                std::vector<std::string>{SWARMD_NODE, "--import", "./polyfill.mjs", "peer.mjs",
                                         "gossip", kTopic, "--quiet"},
                o.js_dir, log));
        }
    }
    std::vector<std::string> addrs;
    for (auto& n : nodes) addrs.push_back(n->expect("listening")["addrs"][0]);
    // Ring + chords: i dials i+1 and i+chord.
    for (std::size_t i = 0; i < o.nodes; ++i) {
        for (std::size_t hop : {std::size_t{1}, o.chord}) {
            nodes[i]->send({{"cmd", "dial"}, {"addr", addrs[(i + hop) % o.nodes]}});
            nodes[i]->expect("dialed");
        }
    }
    const std::size_t degree =
        std::set<std::size_t>{1, o.nodes - 1, o.chord, o.nodes - o.chord}.size();
    const auto mesh_deadline = Clock::now() + 60s;
    for (bool meshed = false; !meshed;) {
        if (Clock::now() > mesh_deadline) throw std::runtime_error(impl + ": mesh did not form");
        meshed = true;
        for (auto& n : nodes) {
            n->send({{"cmd", "mesh"}});
            meshed = meshed && n->expect("mesh")["mesh"].size() >= degree;
        }
        if (!meshed) std::this_thread::sleep_for(200ms);
    }

    // Warm-up at the lowest rate, not counted: lets js compile its hot paths first.
    for (auto& n : nodes)
        n->send({{"cmd", "bench"},
                 {"rate", o.rates.front() / static_cast<double>(o.nodes)},
                 {"seconds", 1},
                 {"size", o.size}});
    for (auto& n : nodes) n->expect("bench-done", 60s);
    std::this_thread::sleep_for(kDrain);
    for (auto& n : nodes) {
        n->send({{"cmd", "report"}});
        n->expect("report", 60s);
    }

    std::vector<Step> steps;
    for (double rate : o.rates) {
        Step s;
        s.offered = rate;
        for (auto& n : nodes)
            n->send({{"cmd", "bench"},
                     {"rate", rate / static_cast<double>(o.nodes)},
                     {"seconds", o.seconds},
                     {"size", o.size}});
        const auto limit = std::chrono::seconds(static_cast<long>(o.seconds * 10 + 30));
        for (auto& n : nodes)
            s.published += n->expect("bench-done", limit)["published"].get<std::size_t>();
        std::this_thread::sleep_for(kDrain);
        std::vector<double> latencies;
        for (auto& n : nodes) {
            n->send({{"cmd", "report"}});
            json r = n->expect("report", limit);
            s.delivered += r["received"].get<std::size_t>();
            s.duplicates += r["duplicates"].get<std::size_t>();
            for (const auto& l : r["latencies_us"]) latencies.push_back(l.get<double>() / 1000.0);
        }
        const double expected = static_cast<double>(s.published) * static_cast<double>(o.nodes - 1);
        s.delivery = expected > 0 ? static_cast<double>(s.delivered) / expected : 0;
        s.delivered_per_s = static_cast<double>(s.delivered) / o.seconds;
        s.p50_ms = percentile(latencies, 0.50);
        s.p99_ms = percentile(latencies, 0.99);
        s.sustained = s.delivery >= kSustainedDelivery && s.p99_ms <= kSustainedP99Ms;
        std::printf("%-7s %9.0f %10zu %12.0f %8.2f%% %9.1f %9.1f %6zu %s\n", impl.c_str(),
                    s.offered, s.published, s.delivered_per_s, 100 * s.delivery, s.p50_ms, s.p99_ms,
                    s.duplicates, s.sustained ? "" : "  (not sustained)");
        std::fflush(stdout);
        steps.push_back(s);
        if (!s.sustained) break;
    }
    return steps;
}

const Step* best(const std::vector<Step>& steps) {
    const Step* b = nullptr;
    for (const auto& s : steps) {
        if (s.sustained) b = &s;
    }
    return b;
}

std::vector<double> parse_rates(const std::string& text) {
    std::vector<double> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stod(item));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::string(argv[1]) == "node") return run_node();
    Options o;
    o.self = std::filesystem::canonical("/proc/self/exe").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--nodes")
            o.nodes = std::stoul(value);
        else if (flag == "--chord")
            o.chord = std::stoul(value);
        else if (flag == "--rates")
            o.rates = parse_rates(value);
        else if (flag == "--seconds")
            o.seconds = std::stod(value);
        else if (flag == "--size")
            o.size = std::stoul(value);
        else if (flag == "--impl")
            o.impl = value;
        else if (flag == "--js-dir")
            o.js_dir = value;
        else {
            std::cerr << "unknown flag " << flag << "\n";
            return 2;
        }
    }
    if (o.nodes < 3 || o.chord == 0 || o.chord >= o.nodes) {
        std::cerr << "need --nodes >= 3 and 0 < --chord < --nodes\n";
        return 2;
    }
    if (o.impl != "swarmd" &&
        !std::filesystem::exists(o.js_dir + "/node_modules/@libp2p/gossipsub")) {
        std::cerr << "js peer not installed in " << o.js_dir << " (run ctest -R 'npm ci' first)\n";
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);
    std::printf(
        "gossipsub over loopback: %zu processes per implementation, ring + chords (i~i+1, "
        "i~i+%zu), "
        "%zu-byte messages, %.0f s per rate\n",
        o.nodes, o.chord, o.size, o.seconds);
    std::printf("%-7s %9s %10s %12s %9s %9s %9s %6s\n", "impl", "offered/s", "published",
                "delivered/s", "delivery", "p50 ms", "p99 ms", "dups");
    std::vector<Step> swarmd_steps, js_steps;
    try {
        if (o.impl != "js") swarmd_steps = run_impl("swarmd", o);
        if (o.impl != "swarmd") js_steps = run_impl("js", o);
    } catch (const std::exception& e) {
        std::cerr << "bench_gossip: " << e.what() << "\n";
        return 1;
    }
    const Step* s = best(swarmd_steps);
    const Step* j = best(js_steps);
    std::printf(
        "sustained = delivery >= %.0f%% within %lld s of the last publish and p99 <= %.0f ms\n",
        100 * kSustainedDelivery, static_cast<long long>(kDrain.count()), kSustainedP99Ms);
    if (s)
        std::printf("swarmd sustained %.0f msg/s (%.0f deliveries/s), p99 %.1f ms\n", s->offered,
                    s->delivered_per_s, s->p99_ms);
    if (j)
        std::printf("js     sustained %.0f msg/s (%.0f deliveries/s), p99 %.1f ms\n", j->offered,
                    j->delivered_per_s, j->p99_ms);
    if (s && !j && !js_steps.empty()) {
        std::printf("js sustained none of the rates: swarmd/js sustained rate > %.0fx\n",
                    s->offered / js_steps.front().offered);
    }
    // Both at the lowest rate, whether sustained or not.
    if (!swarmd_steps.empty() && !js_steps.empty()) {
        const Step& a = swarmd_steps.front();
        const Step& b = js_steps.front();
        std::printf(
            "at %.0f msg/s: delivered/s swarmd/js %.2f, p50 swarmd/js %.3f, p99 swarmd/js %.3f\n",
            a.offered, a.delivered_per_s / b.delivered_per_s, a.p50_ms / b.p50_ms,
            a.p99_ms / b.p99_ms);
    }
    if (s && j) {
        std::printf("ratio swarmd/js: sustained message rate %.2fx\n", s->offered / j->offered);
        // Latency compared at the highest rate both sustained.
        for (auto it = js_steps.rbegin(); it != js_steps.rend(); ++it) {
            if (!it->sustained) continue;
            for (const auto& ss : swarmd_steps) {
                if (ss.offered == it->offered) {
                    std::printf("at %.0f msg/s: p50 swarmd/js %.2f, p99 swarmd/js %.2f\n",
                                it->offered, ss.p50_ms / it->p50_ms, ss.p99_ms / it->p99_ms);
                    return 0;
                }
            }
        }
    }
    return 0;
}
