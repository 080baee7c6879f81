#pragma once
// Resolution of /dnsaddr/ bootstrap entries as libp2p defines it: the TXT records of
// _dnsaddr.<name> hold "dnsaddr=<multiaddr>" entries, which may themselves be /dnsaddr/ entries.
// Resolution is recursive with a depth limit; a loop or an over-deep chain is an error, never a
// hang. When the entry ends in /p2p/<id>, only records for that peer are kept.
#include <chrono>
#include <string>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "base/result.hpp"

namespace swarmd::bootstrap {

namespace asio = boost::asio;

struct DnsaddrOptions {
    static constexpr std::chrono::milliseconds kDefaultTimeout{2000};
    static constexpr int kDefaultAttempts = 2;
    static constexpr int kDefaultMaxDepth = 4;
    static constexpr std::size_t kDefaultMaxAddrs = 64;

    // Empty: the nameservers of /etc/resolv.conf.
    std::vector<asio::ip::udp::endpoint> servers;
    std::chrono::milliseconds timeout = kDefaultTimeout;  // per attempt
    int attempts = kDefaultAttempts;
    int max_depth = kDefaultMaxDepth;
    std::size_t max_addrs = kDefaultMaxAddrs;
};

// The nameservers listed in a resolv.conf file (port 53).
std::vector<asio::ip::udp::endpoint> system_nameservers(
    const std::string& path = "/etc/resolv.conf");

bool is_dnsaddr(const std::string& multiaddr);

class DnsaddrResolver {
  public:
    DnsaddrResolver(asio::io_context& io, DnsaddrOptions options);

    // Expands one /dnsaddr/ multiaddr (text form) to the non-dnsaddr multiaddrs it names.
    asio::awaitable<Result<std::vector<std::string>>> resolve(std::string multiaddr);

    // One TXT lookup, retried over the configured servers and attempts.
    asio::awaitable<Result<std::vector<std::string>>> query_txt(std::string name);

  private:
    asio::awaitable<Result<void>> expand(const std::string& multiaddr, int depth,
                                         std::vector<std::string>& path,
                                         std::vector<std::string>& out);
    asio::awaitable<Result<std::vector<std::string>>> query_once(
        const asio::ip::udp::endpoint& server, const std::string& name);

    asio::io_context& m_io;
    DnsaddrOptions m_options;
};

}  // namespace swarmd::bootstrap
