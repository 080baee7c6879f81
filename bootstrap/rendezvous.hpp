#pragma once
// Finding the swarm on a DHT: each node announces itself as a provider of the swarm's rendezvous
// key (net/kad.hpp rendezvous_key of "floodsub:" + the status topic, as go-libp2p-pubsub's
// discovery does) and looks up the key's providers, which it hands to the joiner; the joiner
// then joins them as any other candidate (hello, peer exchange, gossipsub PX).
//
// The DHT is reached through bootstrap peers that are plain libp2p nodes (the public DHT's, which
// the joiner hands over with set_dht_peer_handler) and through any identified peer that serves
// the kad protocol (a swarmd bootstrap node runs the DHT in server mode). Connections the DHT
// opened to peers outside the swarm are closed once idle, so lookups do not use up the host's
// outbound slots. One io_context thread owns it; create with std::make_shared, stop() before
// the host goes away.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "crypto/peer_id.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::net {
class Connection;
class Host;
class KadService;
}  // namespace swarmd::net

namespace swarmd::bootstrap {

struct RendezvousOptions {
    using Duration = std::chrono::steady_clock::duration;
    static constexpr std::chrono::seconds kDefaultFirstDelay{1};
    static constexpr std::chrono::seconds kDefaultSearchInterval{30};
    static constexpr std::chrono::minutes kDefaultQuietInterval{5};
    static constexpr std::chrono::seconds kDefaultNoDhtRetry{10};
    static constexpr std::chrono::seconds kDefaultIdleSweep{10};
    static constexpr std::size_t kDefaultMaxProviders = 20;
    static constexpr std::size_t kDefaultMaxDhtPeers = 8;
    // go-libp2p-pubsub's discovery announces with a 3 h TTL; the DHT keeps records 48 h.
    static constexpr std::chrono::hours kDefaultReannounce{3};

    Duration first_delay = kDefaultFirstDelay;
    // Between two provider lookups while the node has fewer swarm peers than it wants, and once
    // it has them. While a lookup finds no provider we are connected to, the next comes sooner:
    // after 2 x first_delay, doubling up to search_interval.
    Duration search_interval = kDefaultSearchInterval;
    Duration quiet_interval = kDefaultQuietInterval;
    // While no DHT peer is known.
    Duration no_dht_retry = kDefaultNoDhtRetry;
    // A connection outside the swarm with no stream open at two sweeps in a row is closed.
    Duration idle_sweep = kDefaultIdleSweep;
    std::size_t max_providers = kDefaultMaxProviders;
    // Bootstrap DHT peers kept (their connections are not swept).
    std::size_t max_dht_peers = kDefaultMaxDhtPeers;
    bool announce = true;
    // A provider record is announced again after this, and whenever our addresses change.
    Duration reannounce = kDefaultReannounce;
};

struct RendezvousStats {
    std::size_t lookups = 0;
    std::size_t providers_seen = 0;  // provider records found, ours excluded
    std::size_t handed_to_joiner = 0;
    std::size_t announced_to = 0;  // DHT peers that took our last provider record
    std::size_t idle_closed = 0;
};

class Rendezvous : public std::enable_shared_from_this<Rendezvous> {
  public:
    struct Hooks {
        // True for a peer the joiner counts as a swarm peer (its connection is never swept).
        std::function<bool(const crypto::PeerId&)> is_swarm_peer;
        // True while the node wants more swarm peers (searches every search_interval).
        std::function<bool()> wants_peers;
        // A provider of the key that is not connected: a candidate for the joiner.
        std::function<void(const crypto::PeerId&, std::vector<std::string> addrs)> found;
    };

    Rendezvous(boost::asio::any_io_executor executor, net::Host& host, net::KadService& kad,
               Bytes key, Hooks hooks, RendezvousOptions options = {});

    void start();
    void stop();

    // A bootstrap peer outside the swarm whose connection the DHT may use (Joiner's DHT peer
    // handler).
    void add_dht_peer(const std::shared_ptr<net::Connection>& connection);
    // Our addresses changed (a relay reservation, a confirmed observed address): announce the
    // provider record again with the new ones, soon.
    void addrs_changed();

    const Bytes& key() const noexcept { return m_key; }
    const RendezvousStats& stats() const noexcept { return m_stats; }
    // "waiting for a DHT peer", "searching", or "found N providers".
    const std::string& state() const noexcept { return m_state; }

  private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> sweep_loop();
    boost::asio::awaitable<void> sleep(boost::asio::steady_timer& timer,
                                       RendezvousOptions::Duration d);
    void sweep();

    boost::asio::any_io_executor m_executor;
    net::Host& m_host;
    net::KadService& m_kad;
    Bytes m_key;
    Hooks m_hooks;
    RendezvousOptions m_options;
    // Bootstrap DHT peers and the address each was reached at (with /p2p/).
    std::map<crypto::PeerId, net::Multiaddr> m_dht_peers;
    std::set<crypto::PeerId> m_idle_once;  // idle at the last sweep
    boost::asio::steady_timer m_timer;
    boost::asio::steady_timer m_sweep_timer;
    RendezvousStats m_stats;
    std::string m_state = "waiting for a DHT peer";
    bool m_announced = false;
    std::chrono::steady_clock::time_point m_announced_at{};
    // The next lookup's delay while nobody is found: 2 s, doubling up to search_interval.
    RendezvousOptions::Duration m_fast_delay{};
    bool m_stopped = false;
};

}  // namespace swarmd::bootstrap
