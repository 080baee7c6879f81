#pragma once
// Joining and staying joined: dials bootstrap peers, stored peers and peers learned through
// gossip peer exchange, concurrently and with backoff plus jitter, until the node has its target
// number of connections; prunes above the high watermark; goes back to the bootstrap list when
// every connection is gone. Every failure of a bootstrap entry is logged once, with the
// diagnosis of bootstrap/diagnose.hpp. Runs on the host's io thread.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bootstrap/address_filter.hpp"
#include "bootstrap/hello.hpp"
#include "bootstrap/peer_exchange.hpp"
#include "bootstrap/peer_store.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::net {
class Connection;
}

namespace swarmd::bootstrap {

class DnsaddrResolver;

struct JoinOptions {
    using Duration = std::chrono::steady_clock::duration;
    static constexpr std::size_t kDefaultTargetPeers = 8;
    static constexpr std::size_t kDefaultLowWatermark = 4;
    static constexpr std::size_t kDefaultHighWatermark = 16;
    static constexpr std::size_t kDefaultMaxConcurrentDials = 8;
    static constexpr std::chrono::milliseconds kDefaultTick{1000};
    static constexpr std::chrono::seconds kDefaultInitialRetry{1};
    static constexpr std::chrono::seconds kDefaultMaxRetry{60};
    static constexpr double kDefaultJitter = 0.2;
    static constexpr std::chrono::seconds kDefaultDeferredDial{3};
    static constexpr std::chrono::seconds kDefaultStoreSaveInterval{30};

    std::size_t target_peers = kDefaultTargetPeers;
    std::size_t low_watermark = kDefaultLowWatermark;
    std::size_t high_watermark = kDefaultHighWatermark;
    std::size_t max_concurrent_dials = kDefaultMaxConcurrentDials;
    Duration tick = kDefaultTick;
    Duration initial_retry = kDefaultInitialRetry;
    Duration max_retry = kDefaultMaxRetry;
    double jitter = kDefaultJitter;  // retry delays are scaled by a factor in [1-j, 1+j]
    // Of two peers that learn of each other, the lower peer id dials at once and the other only
    // after this long, when the first has not (e.g. because it already has its target count).
    Duration deferred_dial = kDefaultDeferredDial;
    std::filesystem::path peer_store_path;  // empty: the peer store is not persisted
    // The store is written when it changes, at most once per interval (and at stop()), so a
    // peer that reconnects in a loop does not rewrite the file each time.
    Duration store_save_interval = kDefaultStoreSaveInterval;
    Role role = Role::trainer;
};

struct BootstrapStatus {
    std::string entry;
    std::error_code last_error;  // empty once an attempt succeeded
    bool reached = false;
};

class Joiner : public std::enable_shared_from_this<Joiner> {
  public:
    Joiner(boost::asio::any_io_executor executor, net::Host& host, DnsaddrResolver& resolver,
           PeerStore store, std::vector<std::string> bootstrap, Hello ours, JoinOptions options,
           std::uint64_t seed);

    void start();
    void stop();

    // The daemon forwards the host's events here.
    void on_connected(const std::shared_ptr<net::Connection>& connection,
                      const std::vector<std::string>& listen_addrs);
    void on_disconnected(const crypto::PeerId& peer);
    // Peers learned from gossipsub PX or other peers' identify records, told by a peer of scope
    // `informant`; addresses that bootstrap/address_filter.hpp refuses are dropped.
    void add_candidate(const crypto::PeerId& peer, std::vector<std::string> addrs,
                       Scope informant = Scope::public_net);
    // A bootstrap peer that is a plain libp2p node (it does not speak the swarmd hello, as the
    // public DHT's bootstrap peers do not) is handed here and its connection kept, instead of
    // being closed as a failure; it counts as reached but not as a swarm peer. Without a handler
    // such a peer is a failure.
    void set_dht_peer_handler(std::function<void(const std::shared_ptr<net::Connection>&)> h) {
        m_on_dht_peer = std::move(h);
    }
    // Peers the node wants to keep when pruning (e.g. gossip mesh members).
    void set_protected(std::function<bool(const crypto::PeerId&)> keep) {
        m_keep = std::move(keep);
    }

    // Connected peers with the listen addresses their identify records gave, for peer exchange.
    std::vector<PeerInfo> known_peers() const;

    const std::set<crypto::PeerId>& connected_peers() const noexcept { return m_connected; }
    std::size_t connected() const noexcept { return m_connected.size(); }
    std::size_t dials_in_flight() const noexcept { return m_in_flight; }
    const std::vector<BootstrapStatus>& bootstrap_status() const noexcept { return m_status; }
    const PeerStore& peer_store() const noexcept { return m_store; }
    // Times the peer store file was written.
    std::size_t store_saves() const noexcept { return m_store_saves; }

  private:
    using Clock = std::chrono::steady_clock;
    struct Retry {
        Clock::time_point next{};
        Clock::duration delay{};
    };
    struct Candidate {
        std::string key;      // retry bookkeeping key: the entry or the peer id
        std::string address;  // dialable multiaddr with /p2p/, or a /dnsaddr/ entry
        int bootstrap_index;  // index into m_status, or -1
    };

    boost::asio::awaitable<void> run();
    void tick();
    std::vector<Candidate> due_candidates(Clock::time_point now, std::size_t want);
    boost::asio::awaitable<void> dial(Candidate candidate);
    boost::asio::awaitable<std::error_code> dial_address(const std::string& address);
    void record_result(const Candidate& candidate, std::error_code ec);
    // Once every bootstrap entry has failed while the node has no peer: one line that says so,
    // with the causes counted (again after a later success and loss).
    void report_unreachable();
    void prune();
    boost::asio::awaitable<void> exchange_with(crypto::PeerId peer);
    void save_store();
    // Saves the store if it changed and the save interval has passed.
    void maybe_save_store();
    Clock::duration jittered(Clock::duration d);

    boost::asio::any_io_executor m_executor;
    net::Host& m_host;
    DnsaddrResolver& m_resolver;
    PeerStore m_store;
    std::vector<std::string> m_bootstrap;
    std::vector<BootstrapStatus> m_status;
    Hello m_hello;
    JoinOptions m_options;
    std::mt19937_64 m_rng;
    std::map<std::string, Retry> m_retry;
    std::set<std::string> m_dialing;
    std::set<crypto::PeerId> m_connected;
    struct Learned {
        std::vector<std::string> addrs;
        Clock::time_point since;  // when the peer was first learned
    };
    std::map<crypto::PeerId, Learned> m_learned;
    std::function<bool(const crypto::PeerId&)> m_keep;
    std::function<void(const std::shared_ptr<net::Connection>&)> m_on_dht_peer;
    boost::asio::steady_timer m_timer;
    bool m_store_dirty = false;
    bool m_unreachable_reported = false;
    Clock::time_point m_next_store_save{};
    std::size_t m_store_saves = 0;
    std::size_t m_in_flight = 0;
    std::size_t m_ticks_since_exchange = 0;
    bool m_stopped = false;
};

}  // namespace swarmd::bootstrap
