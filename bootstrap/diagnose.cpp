#include "bootstrap/diagnose.hpp"

#include "bootstrap/error.hpp"
#include "net/error.hpp"

namespace swarmd::bootstrap {

JoinFailure classify(const std::error_code& ec) {
    if (!ec) return JoinFailure::none;
    if (ec.category() == bootstrap_category()) {
        switch (static_cast<Errc>(ec.value())) {
            case Errc::different_swarm:
                return JoinFailure::different_swarm;
            case Errc::rejected_low_score:
                return JoinFailure::rejected_low_score;
            case Errc::bad_peer_list:
                return JoinFailure::bad_address;
            case Errc::bad_hello:
            case Errc::bad_peer_exchange:
                return JoinFailure::handshake_failure;
            default:
                return JoinFailure::dns_failure;  // every other bootstrap code is DNS
        }
    }
    if (ec.category() == net::net_category()) {
        switch (static_cast<net::Errc>(ec.value())) {
            case net::Errc::malformed_multiaddr:
            case net::Errc::unknown_protocol:
            case net::Errc::bad_ip_address:
            case net::Errc::bad_port:
            case net::Errc::bad_dns_name:
            case net::Errc::bad_peer_id:
            case net::Errc::truncated_multiaddr:
            case net::Errc::multiaddr_too_large:
                return JoinFailure::bad_address;
            case net::Errc::peer_id_mismatch:
                return JoinFailure::peer_id_mismatch;
            case net::Errc::timeout:
                return JoinFailure::timeout;
            case net::Errc::connection_limit:
            case net::Errc::dial_backoff:
                return JoinFailure::other;
            default:
                return JoinFailure::handshake_failure;
        }
    }
    if (ec == std::errc::connection_refused) return JoinFailure::connection_refused;
    if (ec == std::errc::timed_out) return JoinFailure::timeout;
    if (ec == std::errc::host_unreachable || ec == std::errc::network_unreachable ||
        ec == std::errc::address_not_available) {
        return JoinFailure::unreachable;
    }
    if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe) {
        return JoinFailure::handshake_failure;
    }
    // Asio's resolver reports host lookups in its own "netdb"/"addrinfo" categories.
    const std::string_view category = ec.category().name();
    if (category == "asio.netdb" || category == "asio.addrinfo") return JoinFailure::dns_failure;
    return JoinFailure::other;
}

std::string_view failure_name(JoinFailure f) {
    switch (f) {
        case JoinFailure::none:
            return "connected";
        case JoinFailure::bad_address:
            return "invalid address";
        case JoinFailure::dns_failure:
            return "DNS lookup failed";
        case JoinFailure::connection_refused:
            return "connection refused";
        case JoinFailure::unreachable:
            return "host unreachable";
        case JoinFailure::timeout:
            return "timed out";
        case JoinFailure::handshake_failure:
            return "handshake failed";
        case JoinFailure::peer_id_mismatch:
            return "wrong peer id";
        case JoinFailure::different_swarm:
            return "different swarm";
        case JoinFailure::rejected_low_score:
            return "rejected for low score";
        case JoinFailure::other:
            return "failed";
    }
    return "failed";
}

std::string_view failure_advice(JoinFailure f) {
    switch (f) {
        case JoinFailure::none:
            return "";
        case JoinFailure::bad_address:
            return "fix the entry: a bootstrap address looks like "
                   "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW...";
        case JoinFailure::dns_failure:
            return "check the name's spelling, your DNS server (/etc/resolv.conf) and that this "
                   "machine is online";
        case JoinFailure::connection_refused:
            return "the host is up but nothing listens on that port: check the port number and "
                   "that the bootstrap node is running";
        case JoinFailure::unreachable:
            return "there is no route to that host: check this machine's network connection, VPN "
                   "and firewall";
        case JoinFailure::timeout:
            return "the host did not answer: it may be down, or a firewall drops the traffic; "
                   "check that its TCP port is open to you";
        case JoinFailure::handshake_failure:
            return "something answered but did not complete the libp2p handshake: the port may "
                   "belong to another service, or the peer runs an incompatible version";
        case JoinFailure::peer_id_mismatch:
            return "the node at that address has a different identity than the /p2p/ id you "
                   "gave: the bootstrap entry is out of date, get the node's current address";
        case JoinFailure::different_swarm:
            return "the peer trains another swarm: check that both nodes use the same spec "
                   "(`swarmd spec show` prints its id)";
        case JoinFailure::rejected_low_score:
            return "the peer dropped this node for misbehaving: check this node's clock and "
                   "version; it retries after a backoff";
        case JoinFailure::other:
            return "run with --debug=net,boot for details";
    }
    return "";
}

std::string describe_failure(const std::string& target, const std::error_code& ec) {
    const auto kind = classify(ec);
    std::string line = "bootstrap " + target + ": " + std::string(failure_name(kind));
    if (ec) line += " (" + ec.message() + ")";
    if (auto advice = failure_advice(kind); !advice.empty()) line += " — " + std::string(advice);
    return line;
}

}  // namespace swarmd::bootstrap
