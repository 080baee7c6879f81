#pragma once
// Being reachable: composes AutoNAT (net/autonat_service.hpp), circuit relay v2
// (net/relay_service.hpp), DCUtR hole punching (net/dcutr_service.hpp) and the DHT's mode. AutoNAT
// tells public from private; a public node serves the DHT, AutoNAT dial-backs and relaying to
// others; a private one (behind NAT) reserves slots on relays among its peers and announces its
// /p2p-circuit addresses instead, so that other nodes can dial it through a relay. A bootstrap node
// takes the public roles from the start. One io_context thread owns it; create with
// std::make_shared, stop() before the host goes away.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "crypto/keys.hpp"
#include "net/autonat.hpp"
#include "net/identify.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"
#include "net/relay.hpp"

namespace swarmd::net {
class AutoNatService;
class Connection;
class DcutrService;
struct DcutrStats;
class Host;
class KadService;
class RelayService;
}  // namespace swarmd::net

namespace swarmd::bootstrap {

// The presumption behind_nat() makes while AutoNAT has no verdict: none of `listen` (dialable
// form) is public by `policy`, and some address in `observed` (how peers see us) is.
bool looks_translated(const std::vector<net::Multiaddr>& listen,
                      const std::vector<net::Multiaddr>& observed,
                      const net::AddressPolicy& policy);

struct ReachOptions {
    using Duration = std::chrono::steady_clock::duration;
    static constexpr std::chrono::seconds kDefaultRelayCheck{5};
    static constexpr std::chrono::minutes kDefaultRelayRetry{2};
    static constexpr std::size_t kDefaultRelaysWanted = 2;

    std::vector<net::Cidr> treat_as_public;
    // What we relay for others once we serve the relay (its limits; the node's config).
    net::relay::ServerOptions relay_server;
    // A bootstrap node: serve the DHT, AutoNAT and relaying from the start.
    bool public_roles = false;
    std::size_t relays_wanted = kDefaultRelaysWanted;
    Duration relay_check = kDefaultRelayCheck;
    Duration relay_retry = kDefaultRelayRetry;  // after a relay refused or failed
};

class Reach : public std::enable_shared_from_this<Reach> {
  public:
    Reach(boost::asio::any_io_executor executor, net::Host& host,
          const crypto::PrivateKey& identity, net::KadService& kad, ReachOptions options = {});
    ~Reach();

    void start();
    void stop();

    // Feeds of the host's events (the node owns the host's single slots).
    void on_identify(const std::shared_ptr<net::Connection>& connection,
                     const net::IdentifyInfo& info);
    void on_connection_closed(const std::shared_ptr<net::Connection>& connection);

    net::autonat::Reachability reachability() const noexcept;
    // Whether to act as a node behind NAT: AutoNAT says private, or it has no verdict yet while
    // none of our listen addresses is public and a peer sees us at a public one (a router
    // translates for us). One AutoNAT server never gives a verdict (it takes several agreeing
    // ones), so a node that knows a single public peer would otherwise wait for ever; a port
    // forward later makes AutoNAT say public, which ends it.
    bool behind_nat() const;
    // What other nodes should dial: through our relays first when we are behind NAT, then our
    // listen addresses in dialable form and the observed addresses enough peers confirmed.
    // The host's identify and signed peer record say the same (Host::set_address_source).
    std::vector<net::Multiaddr> advertised_addrs() const;
    // Called when advertised_addrs() changed (a relay reservation came or went, an observed
    // address was confirmed): provider records should be announced again.
    void on_addrs_changed(std::function<void()> handler) {
        m_on_addrs_changed = std::move(handler);
    }
    std::vector<net::Multiaddr> relay_addrs() const;
    std::vector<net::Multiaddr> confirmed_addrs() const;
    // Where a hole punch may reach us: public addresses peers observe us at (one observer is
    // enough: the punch tries them at no cost to others), confirmed ones, and public listen
    // addresses. What our DCUtR CONNECT offers.
    std::vector<net::Multiaddr> punch_addrs() const;
    const net::DcutrStats& dcutr_stats() const noexcept;
    bool serving_public_roles() const noexcept { return m_public_roles_on; }

  private:
    boost::asio::awaitable<void> relay_loop();
    void reachability_changed(net::autonat::Reachability r);
    void take_public_roles();
    void refresh_addrs();

    boost::asio::any_io_executor m_executor;
    net::Host& m_host;
    net::KadService& m_kad;
    ReachOptions m_options;
    std::shared_ptr<net::AutoNatService> m_autonat;
    std::shared_ptr<net::RelayService> m_relay;
    std::shared_ptr<net::DcutrService> m_dcutr;
    // Connected peers that serve the relay hop protocol, and when one last refused us.
    std::map<crypto::PeerId, net::Multiaddr> m_relay_candidates;
    std::map<crypto::PeerId, std::chrono::steady_clock::time_point> m_relay_failed;
    boost::asio::steady_timer m_timer;
    std::function<void()> m_on_addrs_changed;
    bool m_public_roles_on = false;
    bool m_reserving = false;
    bool m_relay_woken = false;  // the relay loop was woken at the first sign of NAT
    bool m_stopped = false;
};

}  // namespace swarmd::bootstrap
