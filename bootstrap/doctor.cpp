#include "bootstrap/doctor.hpp"

#include <algorithm>
#include <cstdio>

#include "bootstrap/diagnose.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/error.hpp"
#include "bootstrap/peer_list.hpp"
#include "net/autonat_service.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/relay.hpp"

namespace swarmd::bootstrap {
namespace {

DoctorResult failed_entry(const std::string& target, std::error_code error,
                          std::string reason = {}) {
    DoctorResult result;
    result.target = target;
    result.error = error;
    result.agent = std::move(reason);  // for a malformed entry, the parser's reason
    return result;
}

void note_reach(DoctorResult& result, const std::shared_ptr<net::Connection>& connection,
                const net::IdentifyInfo& info, net::AutoNatService* autonat) {
    if (info.observed_addr)
        if (auto observed = net::Multiaddr::from_bytes(*info.observed_addr))
            result.observed_addr = observed.value().to_string();
    result.offers_relay = info.lists(net::relay::kHopProtocol);
    if (autonat) autonat->on_identify(connection, info);
}

boost::asio::awaitable<void> ask_dial_back(DoctorResult& result, net::AutoNatService& autonat,
                                           const crypto::PeerId& peer) {
    auto candidates = autonat.candidate_addrs();
    if (candidates.empty()) {
        result.dial_back_error = "no public address to test (no peer saw one)";
        co_return;
    }
    auto answer = co_await autonat.request_dial_back(peer, candidates);
    if (!answer) {
        result.dial_back_error = answer.error().message();  // no verdict: the request failed
        co_return;
    }
    const auto& response = answer.value();
    using net::autonat::ResponseStatus;
    if (response.status == ResponseStatus::ok) {
        result.dialed_back = true;
        if (response.addr) result.dialed_addr = response.addr->to_string();
        co_return;
    }
    // Only a dial that failed says something about us; a refusal or a bad request does not.
    if (response.status == ResponseStatus::dial_error) result.dialed_back = false;
    const char* status = response.status == ResponseStatus::dial_error     ? "dial error"
                         : response.status == ResponseStatus::dial_refused ? "refused to dial"
                         : response.status == ResponseStatus::bad_request  ? "bad request"
                                                                           : "internal error";
    result.dial_back_error =
        std::string(status) + (response.status_text.empty() ? "" : ": " + response.status_text);
}

boost::asio::awaitable<DoctorResult> check_one(net::Host& host, const std::string& target,
                                               const Hello& ours, net::AutoNatService* autonat) {
    DoctorResult result;
    result.target = target;
    auto addr = net::Multiaddr::parse(target);
    if (!addr) {
        result.error = addr.error();
        co_return result;
    }
    auto connection = co_await host.dial(addr.value());
    if (!connection) {
        result.error = connection.error();
        co_return result;
    }
    // Each entry is checked on a connection of its own: left open, this connection would be
    // reused by a later entry naming the same peer at another address, which would then pass, or
    // fail, for this entry's reasons.
    struct CloseWhenDone {
        std::shared_ptr<net::Connection> connection;
        ~CloseWhenDone() { connection->stop({}, net::Phase::session); }
    } close_when_done{connection.value()};
    const auto peer = connection.value()->remote_peer();
    result.peer_id = peer.to_base58();
    bool serves_autonat = false;
    if (const auto* info = host.identified(peer)) {
        result.agent = info->agent_version;
        note_reach(result, connection.value(), *info, autonat);
        serves_autonat = info->lists(net::autonat::kProtocol);
    } else if (auto info = co_await host.identify(connection.value())) {
        result.agent = info.value().agent_version;
        note_reach(result, connection.value(), info.value(), autonat);
        serves_autonat = info.value().lists(net::autonat::kProtocol);
    }
    // Before the hello: a peer outside the swarm may still tell us how reachable we are.
    if (autonat && serves_autonat) co_await ask_dial_back(result, *autonat, peer);
    auto hello = co_await say_hello(host, peer, ours);
    if (!hello) {
        result.error = hello.error();
        co_return result;
    }
    auto rtts = co_await host.ping(connection.value(), 1);
    if (rtts && !rtts.value().empty()) {
        result.rtt_ms = std::chrono::duration<double, std::milli>(rtts.value().front()).count();
    }
    co_return result;
}

}  // namespace

boost::asio::awaitable<std::vector<DoctorResult>> run_doctor(net::Host& host,
                                                             DnsaddrResolver& resolver,
                                                             std::vector<std::string> targets,
                                                             Hello ours,
                                                             net::AutoNatService* autonat) {
    std::vector<DoctorResult> results;
    for (const auto& target : targets) {
        if (auto reason = check_bootstrap_entry(target); !reason.empty()) {
            results.push_back(failed_entry(target, make_error_code(Errc::bad_peer_list), reason));
            continue;
        }
        if (!is_dnsaddr(target)) {
            results.push_back(co_await check_one(host, target, ours, autonat));
            continue;
        }
        auto resolved = co_await resolver.resolve(target);
        if (!resolved) {
            results.push_back(failed_entry(target, resolved.error()));
            continue;
        }
        for (const auto& addr : resolved.value()) {
            results.push_back(co_await check_one(host, addr, ours, autonat));
        }
    }
    co_return results;
}

std::string format_doctor_line(const DoctorResult& r) {
    if (r.error) {
        std::string line = "FAIL " + describe_failure(r.target, r.error);
        // For a malformed entry, `agent` carries the parser's reason.
        if (r.error == Errc::bad_peer_list && !r.agent.empty()) line += " [" + r.agent + "]";
        return line;
    }
    char rtt[32] = "-";
    if (r.rtt_ms) std::snprintf(rtt, sizeof rtt, "%.2f ms", *r.rtt_ms);
    return "ok   " + r.target + " (agent " + (r.agent.empty() ? "?" : r.agent) + ", ping " + rtt +
           ", same swarm)";
}

std::vector<std::string> reachability_report(const std::vector<DoctorResult>& results,
                                             const std::vector<net::Multiaddr>& listen) {
    std::vector<std::string> out;
    std::vector<std::string> seen_at;
    std::vector<std::string> relays;
    std::vector<std::string> dialed;
    std::size_t asked = 0;
    std::size_t failed = 0;
    std::string why;
    for (const auto& r : results) {
        if (!r.observed_addr.empty() &&
            std::find(seen_at.begin(), seen_at.end(), r.observed_addr) == seen_at.end())
            seen_at.push_back(r.observed_addr);
        if (r.offers_relay) relays.push_back(r.peer_id);
        if (!r.dialed_back) continue;
        ++asked;
        if (*r.dialed_back) {
            dialed.push_back(r.dialed_addr.empty() ? r.peer_id : r.dialed_addr);
        } else {
            ++failed;
            if (why.empty()) why = r.dial_back_error;
        }
    }
    std::string ports;
    for (const auto& a : listen) {
        if (auto endpoint = a.tcp_endpoint())
            ports += (ports.empty() ? "" : ", ") + std::to_string(endpoint->port);
    }
    if (ports.empty()) ports = "the node's port";
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
        return s;
    };
    if (!seen_at.empty()) out.push_back("peers see this machine at " + join(seen_at));
    if (!dialed.empty()) {
        out.push_back("reachability: public (dialed back at " + join(dialed) +
                      "): other nodes can connect to this machine directly");
    } else if (failed > 0) {
        out.push_back("reachability: private (" + std::to_string(failed) + " of " +
                      std::to_string(asked) + " AutoNAT peers could not dial back: " + why +
                      "): this machine is behind NAT or a firewall");
        out.push_back(
            "  to be reachable directly: forward TCP port " + ports +
            " on the router to this machine (or open it in the firewall), then check again");
        out.push_back(relays.empty()
                          ? "  until then other nodes reach it only through a relay, and none of "
                            "these peers offers one: add a bootstrap peer that relays (a swarmd "
                            "--bootstrap-node does)"
                          : "  until then other nodes reach it through a relay: " +
                                std::to_string(relays.size()) +
                                " of these peers offer one, and hole punching (DCUtR) upgrades "
                                "to a direct connection where both routers allow it");
    } else {
        out.push_back("reachability: unknown (no reachable peer serves AutoNAT" +
                      std::string(relays.empty() ? ""
                                                 : "; " + std::to_string(relays.size()) +
                                                       " offer a relay, which works either way") +
                      ")");
    }
    return out;
}

}  // namespace swarmd::bootstrap
