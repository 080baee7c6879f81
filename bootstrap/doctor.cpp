#include "bootstrap/doctor.hpp"

#include <cstdio>

#include "bootstrap/diagnose.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/error.hpp"
#include "bootstrap/peer_list.hpp"
#include "net/error.hpp"
#include "net/host.hpp"

namespace swarmd::bootstrap {
namespace {

boost::asio::awaitable<DoctorResult> check_one(net::Host& host, const std::string& target,
                                               const Hello& ours) {
    DoctorResult result{target, {}, {}, {}, {}};
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
    if (const auto* info = host.identified(peer)) {
        result.agent = info->agent_version;
    } else if (auto info = co_await host.identify(connection.value())) {
        result.agent = info.value().agent_version;
    }
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
                                                             Hello ours) {
    std::vector<DoctorResult> results;
    for (const auto& target : targets) {
        if (auto reason = check_bootstrap_entry(target); !reason.empty()) {
            results.push_back({target, make_error_code(Errc::bad_peer_list), {}, reason, {}});
            continue;
        }
        if (!is_dnsaddr(target)) {
            results.push_back(co_await check_one(host, target, ours));
            continue;
        }
        auto resolved = co_await resolver.resolve(target);
        if (!resolved) {
            results.push_back({target, resolved.error(), {}, {}, {}});
            continue;
        }
        for (const auto& addr : resolved.value()) {
            results.push_back(co_await check_one(host, addr, ours));
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

}  // namespace swarmd::bootstrap
