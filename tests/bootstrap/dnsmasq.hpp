#pragma once
// A real DNS server for tests: a Debian dnsmasq child on a free loopback port, serving only the
// TXT records it is given; other names under .test are NXDOMAIN.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "bootstrap/dns.hpp"

namespace swarmd::testing {

namespace asio = boost::asio;

inline unsigned short free_udp_port() {
    asio::io_context io;
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint().port();
}

class Dnsmasq {
  public:
    explicit Dnsmasq(const std::vector<std::pair<std::string, std::string>>& txt)
        : m_port(free_udp_port()) {
        std::vector<std::string> args = {"/usr/sbin/dnsmasq",
                                         "--keep-in-foreground",
                                         "--conf-file=/dev/null",
                                         "--no-resolv",
                                         "--no-hosts",
                                         "--bind-interfaces",
                                         "--listen-address=127.0.0.1",
                                         "--port=" + std::to_string(m_port),
                                         "--pid-file=",
                                         "--local=/test/",
                                         "--log-facility=/dev/null"};
        if (geteuid() == 0) args.push_back("--user=root");
        for (const auto& [name, value] : txt) args.push_back("--txt-record=" + name + "," + value);
        m_pid = fork();
        if (m_pid == 0) {
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
    }
    ~Dnsmasq() {
        kill(m_pid, SIGTERM);
        waitpid(m_pid, nullptr, 0);
    }
    asio::ip::udp::endpoint endpoint() const {
        return {asio::ip::make_address("127.0.0.1"), m_port};
    }

    // dnsmasq needs a moment to bind: true once it answers a query (any answer, NXDOMAIN
    // included), false if it stays silent for about five seconds.
    bool wait_until_serving() const {
        asio::io_context io;
        asio::ip::udp::socket socket(io, asio::ip::udp::v4());
        const auto query = bootstrap::encode_txt_query("ready.test", 1).value();
        for (int attempt = 0; attempt < 50; ++attempt) {
            boost::system::error_code ec;
            socket.send_to(asio::buffer(query), endpoint(), 0, ec);
            pollfd readable{socket.native_handle(), POLLIN, 0};
            if (::poll(&readable, 1, 100) > 0) return true;
        }
        return false;
    }

  private:
    unsigned short m_port;
    pid_t m_pid;
};

}  // namespace swarmd::testing
