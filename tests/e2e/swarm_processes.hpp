#pragma once
// Real `swarmd run` processes on loopback for end-to-end tests: each node has its own data
// directory, libp2p port and HTTP status port, and is read through its own /api/status report.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::e2e {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range
// (32768 and up), where outgoing connections take their ports: a port the kernel handed out
// could be taken by a dial before the node listens on it. Ports are drawn at random, so that
// processes picking ports at once rarely collide, and never handed out twice by one process.
inline unsigned short free_tcp_port() {
    static std::set<unsigned short> given;
    static unsigned seed = static_cast<unsigned>(::getpid()) * 7919u ^
                           static_cast<unsigned>(Clock::now().time_since_epoch().count());
    for (int attempt = 0; attempt < 1000; ++attempt) {
        seed = seed * 1103515245u + 12345u;
        const auto port = static_cast<unsigned short>(10000 + (seed >> 8) % 20000);
        if (given.contains(port)) continue;
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) break;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (free) {
            given.insert(port);
            return port;
        }
    }
    throw std::runtime_error("no free TCP port on 127.0.0.1 in 10000-29999");
}

// GET http://127.0.0.1:<port><target> (HTTP/1.0, so the server closes); the body, or nothing
// when the node does not answer within a second.
inline std::optional<std::string> http_get(unsigned short port, const std::string& target) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::nullopt;
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
            char buf[4096];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, n);
        }
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) return std::nullopt;
    return response.substr(body + 4);
}

// Runs argv to completion and returns its standard output (empty on failure).
inline std::string run_and_read(const std::vector<std::string>& argv) {
    std::string command;
    for (const auto& a : argv) command += "'" + a + "' ";
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buf[512];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

class SwarmdProcess {
  public:
    SwarmdProcess(std::string swarmd, fs::path dir, std::vector<std::string> common_args)
        : m_swarmd(std::move(swarmd)),
          m_dir(std::move(dir)),
          m_common(std::move(common_args)),
          m_p2p_port(free_tcp_port()),
          m_http_port(free_tcp_port()) {
        fs::create_directories(m_dir);
        // Made here rather than by `swarmd keygen`: starting swarmd loads LibTorch, which costs
        // seconds of CPU on a busy machine.
        const auto key = crypto::PrivateKey::generate();
        if (!crypto::write_key_file(m_dir / "identity.key", key, false)) {
            throw std::runtime_error("cannot write " + (m_dir / "identity.key").string());
        }
        m_peer_id = crypto::PeerId::from_public_key(key.public_key()).to_base58();
    }
    SwarmdProcess(const SwarmdProcess&) = delete;
    SwarmdProcess& operator=(const SwarmdProcess&) = delete;
    ~SwarmdProcess() { kill(SIGKILL); }

    void start(const std::vector<std::string>& run_args) {
        std::vector<std::string> args = {m_swarmd};
        args.insert(args.end(), m_common.begin(), m_common.end());
        for (const std::string& a :
             {std::string("--data-dir"), m_dir.string(), std::string("--no-default-bootstrap"),
              std::string("--listen"), listen_addr(), std::string("--http"),
              "127.0.0.1:" + std::to_string(m_http_port), std::string("run")}) {
            args.push_back(a);
        }
        args.insert(args.end(), run_args.begin(), run_args.end());
        const auto log = (m_dir / "log").string();
        m_pid = ::fork();
        if (m_pid == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }

    // SIGTERM leaves cleanly (the peer store is saved); SIGKILL is a crash.
    void kill(int signal) {
        if (m_pid <= 0) return;
        ::kill(m_pid, signal);
        ::waitpid(m_pid, nullptr, 0);
        m_pid = -1;
    }
    // A field of /proc/<pid>/status in KiB (VmRSS now, VmHWM the peak); 0 when not running.
    std::size_t memory_kib(const std::string& field = "VmRSS") const {
        if (m_pid <= 0) return 0;
        std::ifstream in("/proc/" + std::to_string(m_pid) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1));
        return 0;
    }
    bool running() {
        if (m_pid > 0 && ::waitpid(m_pid, nullptr, WNOHANG) != 0) m_pid = -1;
        return m_pid > 0;
    }

    std::optional<json> status() const {
        auto body = http_get(m_http_port, "/api/status");
        if (!body) return std::nullopt;
        auto j = json::parse(*body, nullptr, false);
        if (!j.is_object()) return std::nullopt;
        return j;
    }
    // One sample of /metrics, e.g. `swarmd_gossip_rejected_total{reason="unsigned"}`: its value,
    // 0 when the node does not export it (yet), -1 when the node does not answer.
    double metric(const std::string& sample) const {
        auto body = http_get(m_http_port, "/metrics");
        if (!body) return -1;
        std::istringstream in(*body);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
        }
        return 0;
    }
    // The peer ids the node reports being connected to (empty when it does not answer).
    std::set<std::string> peers() const {
        std::set<std::string> out;
        auto s = status();
        if (!s || !s->contains("peer_ids") || !(*s)["peer_ids"].is_array()) return out;
        for (const auto& p : (*s)["peer_ids"]) {
            if (p.is_string()) out.insert(p.get<std::string>());
        }
        return out;
    }

    void move_to_new_port() { m_p2p_port = free_tcp_port(); }

    std::string listen_addr() const { return "/ip4/127.0.0.1/tcp/" + std::to_string(m_p2p_port); }
    std::string p2p_addr() const { return listen_addr() + "/p2p/" + m_peer_id; }
    const std::string& peer_id() const { return m_peer_id; }
    unsigned short http_port() const { return m_http_port; }
    const fs::path& dir() const { return m_dir; }
    std::string log_tail(std::size_t lines = 15) const {
        std::ifstream in(m_dir / "log");
        std::vector<std::string> all;
        for (std::string line; std::getline(in, line);) all.push_back(line);
        std::string out;
        for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
            out += all[i] + "\n";
        }
        return out;
    }

  private:
    std::string m_swarmd;
    fs::path m_dir;
    std::vector<std::string> m_common;
    unsigned short m_p2p_port;
    unsigned short m_http_port;
    std::string m_peer_id;
    pid_t m_pid = -1;
};

// Polls `done` every 250 ms until it holds or the deadline passes; true when it held.
inline bool poll_until(Clock::duration timeout, const std::function<bool()>& done) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (done()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

// How many connected components the undirected graph of the nodes' peer lists has, counting
// only the given nodes (edges to anyone else are ignored).
inline std::size_t components(const std::map<std::string, std::set<std::string>>& peers_of) {
    std::set<std::string> seen;
    std::size_t count = 0;
    std::map<std::string, std::set<std::string>> adjacent;
    for (const auto& [node, peers] : peers_of) {
        for (const auto& p : peers) {
            if (!peers_of.contains(p)) continue;
            adjacent[node].insert(p);
            adjacent[p].insert(node);
        }
    }
    for (const auto& [start, _] : peers_of) {
        if (!seen.insert(start).second) continue;
        ++count;
        std::vector<std::string> stack{start};
        while (!stack.empty()) {
            const auto node = stack.back();
            stack.pop_back();
            for (const auto& next : adjacent[node]) {
                if (seen.insert(next).second) stack.push_back(next);
            }
        }
    }
    return count;
}

// A scratch directory removed at the end of the test unless SWARMD_KEEP_TEST_DIR is set.
class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "swarmd-join.XXXXXX").string();
        m_path = ::mkdtemp(pattern.data());
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!std::getenv("SWARMD_KEEP_TEST_DIR")) fs::remove_all(m_path, ec);
    }
    const fs::path& path() const { return m_path; }

  private:
    fs::path m_path;
};

}  // namespace swarmd::e2e
