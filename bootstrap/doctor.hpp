#pragma once
// `swarmd doctor`: checks each bootstrap entry the way joining does (address, DNS, TCP, libp2p
// handshake, peer id, swarm hello, ping) and reports one line per peer.
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "bootstrap/hello.hpp"

namespace swarmd::bootstrap {

class DnsaddrResolver;

struct DoctorResult {
    std::string target;  // the address checked (a dnsaddr entry expands to several)
    std::error_code error;
    std::string peer_id;
    std::string agent;
    std::optional<double> rtt_ms;
};

boost::asio::awaitable<std::vector<DoctorResult>> run_doctor(net::Host& host,
                                                             DnsaddrResolver& resolver,
                                                             std::vector<std::string> targets,
                                                             Hello ours);

std::string format_doctor_line(const DoctorResult& result);

}  // namespace swarmd::bootstrap
