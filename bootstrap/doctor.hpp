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
#include "net/multiaddr.hpp"

namespace swarmd::net {
class AutoNatService;
}

namespace swarmd::bootstrap {

class DnsaddrResolver;

struct DoctorResult {
    std::string target;  // the address checked (a dnsaddr entry expands to several)
    std::error_code error;
    std::string peer_id;
    std::string agent;
    std::optional<double> rtt_ms;
    // What the peer told us about reaching this machine.
    std::string observed_addr;  // where it sees us (identify), empty when it did not say
    bool offers_relay = false;  // it serves circuit relay v2 (hop)
    // Its AutoNAT answer when it serves AutoNAT and we had addresses to test: true when it
    // dialed one back (`dialed_addr`), false when it could not (`dial_back_error` says why).
    std::optional<bool> dialed_back;
    std::string dialed_addr;
    std::string dial_back_error;
};

// Checks each target; with `autonat` (a client on `host`, which must listen), every peer that
// serves AutoNAT is also asked to dial this machine back.
boost::asio::awaitable<std::vector<DoctorResult>> run_doctor(
    net::Host& host, DnsaddrResolver& resolver, std::vector<std::string> targets, Hello ours,
    net::AutoNatService* autonat = nullptr);

std::string format_doctor_line(const DoctorResult& result);

// The reachability verdict of a doctor run, with what the user can do about it: lines of text.
// `listen` is what the check listened on.
std::vector<std::string> reachability_report(const std::vector<DoctorResult>& results,
                                             const std::vector<net::Multiaddr>& listen);

}  // namespace swarmd::bootstrap
