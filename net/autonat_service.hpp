#pragma once
// AutoNAT v1 on a Host: drives the sans-I/O core (net/autonat.hpp) over /libp2p/autonat/1.0.0
// streams, one length-prefixed DIAL and one DIAL_RESPONSE per stream, and keeps the table of
// addresses identify says others see us at (net/observed_addrs.hpp).
//
// - Server (set_server_mode(true)): admits a request by the core's policy, dials the admitted
//   addresses back one by one with Host::probe_dial (a fresh connection, never the one the
//   request came on) and answers with the first that worked.
// - Client (start()): asks connected peers whose identify lists the protocol to dial back our
//   candidate addresses, and keeps the verdict: reachability(), on_reachability_changed().
//
// The host has a single on_identify slot, which the node owns: the owner calls on_identify()
// here with every identify result, as it does for KadService. One io_context thread owns the
// service. Create it with std::make_shared (its coroutines keep it alive); call stop() before
// the host goes away.
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"
#include "net/autonat.hpp"
#include "net/identify.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"

namespace swarmd::net {

class Host;
class Connection;
class Stream;

struct AutoNatServiceOptions {
    using Clock = std::chrono::steady_clock;
    // 4 dial-backs of 6 s each fit in the client's 30 s.
    static constexpr std::chrono::seconds kDefaultProbeTimeout{6};
    static constexpr std::chrono::seconds kDefaultServeTimeout{30};

    autonat::Limits limits;
    autonat::ServerOptions server;
    autonat::ClientOptions client;
    ObservedAddrOptions observed;
    // Prefixes treated as public (off by default): a lab's ranges, or 127.0.0.0/8 in a
    // loopback test. Both roles use it: the server to accept requesters, the client to pick
    // the addresses worth testing.
    std::vector<Cidr> treat_as_public;
    // One dial-back (connect and handshake), and a server's whole exchange.
    Clock::duration probe_timeout = kDefaultProbeTimeout;
    std::chrono::milliseconds serve_timeout = kDefaultServeTimeout;
    // The addresses the client asks servers to dial; derived when empty (candidate_addrs()).
    std::function<std::vector<Multiaddr>()> candidate_addrs;
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

class AutoNatService : public std::enable_shared_from_this<AutoNatService> {
  public:
    using ReachabilityHandler = std::function<void(autonat::Reachability)>;

    AutoNatService(boost::asio::any_io_executor executor, Host& host,
                   AutoNatServiceOptions options = {});
    AutoNatService(const AutoNatService&) = delete;
    AutoNatService& operator=(const AutoNatService&) = delete;

    // Server mode registers the protocol, so identify lists it from then on. As with kad, the
    // handler cannot be unregistered: after set_server_mode(false) it refuses every request.
    void set_server_mode(bool server);
    bool server_mode() const noexcept { return m_server_mode; }

    // Starts the client: checks now and then on the core's schedule, and whenever our
    // candidate addresses change.
    void start();
    void stop();

    // Feed of the host's identify results: the peer's observation of us goes into the observed
    // table, and a peer listing the protocol becomes a server the client may ask.
    void on_identify(const std::shared_ptr<Connection>& connection, const IdentifyInfo& info);

    autonat::Reachability reachability() const noexcept { return m_reachability; }
    void on_reachability_changed(ReachabilityHandler handler) { m_on_change = std::move(handler); }

    // What the client asks servers to dial: options.candidate_addrs when set, else
    // dial_candidates() of the listen and observed addresses, at most limits.max_addrs.
    std::vector<Multiaddr> candidate_addrs() const;
    // Observed addresses that enough distinct observers reported.
    std::vector<Multiaddr> confirmed_addrs() const;
    // Every observed address still reported by someone, most observed first.
    std::vector<Multiaddr> observed_addrs() const;
    // Our addresses for a peer seen at `peer_addr`: listen and confirmed addresses, by the
    // policy's advertise_to; public ones are left out once we know we are private_.
    std::vector<Multiaddr> advertised_addrs(const Multiaddr& peer_addr) const;
    const AddressPolicy& policy() const noexcept { return m_server.policy(); }

    // One DIAL request to `server` (connected) for `addrs`, outside the client's schedule and
    // verdict: what `swarmd doctor` asks.
    boost::asio::awaitable<Result<autonat::DialResponse>> request_dial_back(
        crypto::PeerId server, std::vector<Multiaddr> addrs);

  private:
    boost::asio::awaitable<bool> serve(Stream& stream, Bytes body);
    boost::asio::awaitable<void> client_loop();
    boost::asio::awaitable<void> ask(crypto::PeerId server, std::vector<Multiaddr> addrs);
    std::vector<autonat::ServerCandidate> servers();
    void update_reachability();
    void wake();
    autonat::Time now() const { return m_options.clock(); }

    Host& m_host;
    boost::asio::any_io_executor m_executor;
    AutoNatServiceOptions m_options;
    autonat::Server m_server;
    autonat::Client m_client;
    ObservedAddrs m_observed;
    std::set<crypto::PeerId> m_servers;  // identified as speaking the protocol
    std::vector<Multiaddr> m_last_candidates;
    autonat::Reachability m_reachability = autonat::Reachability::unknown;
    ReachabilityHandler m_on_change;
    boost::asio::steady_timer m_timer;
    bool m_dirty = false;  // something happened since the loop last looked
    bool m_server_mode = false;
    bool m_handler_registered = false;
    bool m_started = false;
    bool m_stopped = false;
};

}  // namespace swarmd::net
