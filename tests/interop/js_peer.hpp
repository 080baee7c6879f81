#pragma once
// Runs tests/interop/peer.mjs (js-libp2p) as a child process and reads its JSON-lines stdout
// asynchronously on the test's io_context; send() writes command lines to its stdin. Closing its
// stdin (or destroying this) stops it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

extern char** environ;

namespace swarmd::interop {

class JsPeer {
  public:
    JsPeer(boost::asio::io_context& io, std::vector<std::string> args) : m_stdout(io), m_timer(io) {
        ::signal(SIGPIPE, SIG_IGN);  // a dead peer makes send() throw instead
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_addclose(&actions, in[1]);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        const std::string log = std::string(SWARMD_JS_PEER_DIR) + "/peer-stderr.log";
        posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawn_file_actions_addchdir_np(&actions, SWARMD_JS_PEER_DIR);
        std::vector<std::string> argv_s{SWARMD_NODE, "--import", "./polyfill.mjs", "peer.mjs"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&m_pid, SWARMD_NODE, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        close(out[1]);
        if (rc != 0) throw std::runtime_error("posix_spawn node failed");
        m_stdin = in[1];
        m_stdout.assign(out[0]);
    }

    JsPeer(const JsPeer&) = delete;
    JsPeer& operator=(const JsPeer&) = delete;

    ~JsPeer() {
        close_stdin();
        if (m_pid > 0) {
            kill(m_pid, SIGTERM);
            int status = 0;
            waitpid(m_pid, &status, 0);
        }
    }

    // Writes one command line to the peer's stdin (the peer.mjs modes that read commands).
    void send(const nlohmann::json& command) {
        const std::string line = command.dump() + "\n";
        std::size_t done = 0;
        while (done < line.size()) {
            const ssize_t n = ::write(m_stdin, line.data() + done, line.size() - done);
            if (n <= 0) throw std::runtime_error("js peer: stdin closed");
            done += static_cast<std::size_t>(n);
        }
    }

    void close_stdin() {
        if (m_stdin >= 0) close(m_stdin);
        m_stdin = -1;
    }

    // The next JSON line; throws on timeout or when the peer exits.
    boost::asio::awaitable<nlohmann::json> next(
        std::chrono::seconds limit = std::chrono::seconds(30)) {
        m_timer.expires_after(limit);
        m_timer.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) m_stdout.cancel();
        });
        boost::system::error_code ec;
        co_await boost::asio::async_read_until(
            m_stdout, m_buffer, '\n', boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        m_timer.cancel();
        if (ec) throw std::runtime_error("js peer: no output line (" + ec.message() + ")");
        std::istream stream(&m_buffer);
        std::string line;
        std::getline(stream, line);
        co_return nlohmann::json::parse(line);
    }

    // Skips lines until one with "event": `event` (an "error" line throws).
    boost::asio::awaitable<nlohmann::json> expect(
        std::string event, std::chrono::seconds limit = std::chrono::seconds(30)) {
        for (;;) {
            nlohmann::json line = co_await next(limit);
            if (line.value("event", "") == event) co_return line;
            if (line.value("event", "") == "error")
                throw std::runtime_error("js peer error: " + line.dump());
        }
    }

  private:
    pid_t m_pid = -1;
    int m_stdin = -1;
    boost::asio::posix::stream_descriptor m_stdout;
    boost::asio::steady_timer m_timer;
    boost::asio::streambuf m_buffer;
};

}  // namespace swarmd::interop
