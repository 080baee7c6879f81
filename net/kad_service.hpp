#pragma once
// The Kademlia DHT on a Host: drives the sans-I/O core (net/kad.hpp) over /ipfs/kad/1.0.0
// streams, one length-prefixed request and at most one answer per stream.
//
// Client mode by default: no handler is registered, so identify does not list the protocol
// and servers never add us to their tables. set_server_mode(true) serves FIND_NODE,
// GET_PROVIDERS, ADD_PROVIDER and PING. Every peer answer is decoded within kad::Limits and
// checked against its request; a peer enters the routing table only once it answered a kad
// request, or identify showed it serves kad.
//
// One io_context thread owns the service. Create it with std::make_shared (its coroutines keep
// it alive), call stop() before the host goes away.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "net/identify.hpp"
#include "net/kad.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::net {

class Host;
class Connection;
class Stream;

struct KadServiceOptions {
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kDefaultRequestTimeout{10000};
    static constexpr std::chrono::minutes kDefaultRefreshInterval{10};
    // go-libp2p-pubsub's discovery re-announces a topic's rendezvous at most every 3 h.
    static constexpr std::chrono::hours kDefaultReprovideInterval{3};
    static constexpr std::size_t kDefaultMaxAddrsDialed = 4;

    // The DHT's protocol id: the public Amino DHT's by default; a private or LAN DHT (or a test
    // beside the public one) runs under its own.
    std::string protocol{kad::kProtocol};
    kad::Limits limits;
    kad::RoutingOptions routing;
    kad::LookupOptions lookup;
    kad::ProviderOptions providers;
    kad::ServerOptions server;
    // One request/response exchange, after the connection is up.
    std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;
    Clock::duration refresh_interval = kDefaultRefreshInterval;
    Clock::duration reprovide_interval = kDefaultReprovideInterval;
    // Addresses of a peer tried, in order, when it has no connection.
    std::size_t max_addrs_dialed = kDefaultMaxAddrsDialed;
    // The addresses announced in provider records; the host's listen addresses when empty (the
    // node passes its observed or external ones here).
    std::function<std::vector<Multiaddr>()> advertised_addrs;
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

class KadService : public std::enable_shared_from_this<KadService> {
  public:
    KadService(boost::asio::any_io_executor executor, Host& host, KadServiceOptions options = {});
    KadService(const KadService&) = delete;
    KadService& operator=(const KadService&) = delete;

    // Server mode registers the /ipfs/kad/1.0.0 handler, so identify lists it from then on.
    // The host has no way to unregister a handler: after set_server_mode(false) the handler stays
    // registered but resets every stream.
    void set_server_mode(bool server);
    bool server_mode() const noexcept { return m_server; }

    // Dials each peer (multiaddrs with /p2p/<id>), then looks up our own id through them, which
    // fills the routing table. Returns the routing table size.
    boost::asio::awaitable<std::size_t> bootstrap(std::vector<Multiaddr> peers);
    // The k closest peers to key that answered, nearest first.
    boost::asio::awaitable<std::vector<kad::PeerInfo>> find_node(Bytes key);
    // Announces us (our listen addresses) as a provider of key to the k closest peers, and
    // re-announces it every reprovide_interval once start() ran. Returns how many peers took
    // the record (fails with kad timeout when no peer could be found).
    boost::asio::awaitable<Result<std::size_t>> provide(Bytes key);
    // Stops re-announcing key.
    void stop_providing(const Bytes& key);
    // Providers of key, at most limit, from a lookup that ends early once it has them.
    boost::asio::awaitable<std::vector<kad::PeerInfo>> find_providers(Bytes key, std::size_t limit);

    // Starts periodic refresh (a lookup of our own id and of a random key per bucket in use) and
    // re-provide.
    void start();
    void stop();

    // Feed of the host's identify results (the host has a single on_identify slot, which the
    // node owns): a peer whose protocols list the kad protocol joins the routing table, one whose
    // protocols no longer do (it went to client mode) leaves it.
    void on_identify(const std::shared_ptr<Connection>& connection, const IdentifyInfo& info);

    std::size_t routing_table_size() const noexcept { return m_table.size(); }
    const kad::RoutingTable& routing_table() const noexcept { return m_table; }
    const kad::ProviderStore& provider_store() const noexcept { return m_providers; }

  private:
    struct LookupRun;

    boost::asio::awaitable<Result<kad::Message>> request(kad::PeerInfo peer, kad::Message message,
                                                         bool expect_answer);
    boost::asio::awaitable<Result<void>> ensure_connected(const kad::PeerInfo& peer);
    boost::asio::awaitable<std::vector<kad::PeerInfo>> run_lookup(
        kad::Key target, kad::Message request, std::vector<kad::PeerInfo> extra,
        std::size_t provider_limit, std::vector<kad::PeerInfo>* found);
    boost::asio::awaitable<void> query(std::shared_ptr<LookupRun> run, kad::PeerInfo peer);
    boost::asio::awaitable<bool> serve(Stream& stream, Bytes body);
    boost::asio::awaitable<void> maintenance_loop();
    boost::asio::awaitable<void> ping_oldest(crypto::PeerId oldest);
    boost::asio::awaitable<void> refresh();
    void learned_server(const kad::PeerInfo& peer);
    void failed_peer(const crypto::PeerId& peer);
    std::vector<kad::PeerInfo> seeds(const kad::Key& target) const;
    kad::PeerInfo self_info() const;
    kad::Time now() const { return m_options.clock(); }

    Host& m_host;
    boost::asio::any_io_executor m_executor;
    KadServiceOptions m_options;
    kad::RoutingTable m_table;
    kad::ProviderStore m_providers;
    std::set<Bytes> m_provided;
    std::set<crypto::PeerId> m_pinging;
    std::vector<std::weak_ptr<LookupRun>> m_runs;  // woken by stop()
    boost::asio::steady_timer m_timer;
    bool m_server = false;
    bool m_handler_registered = false;
    bool m_started = false;
    bool m_stopped = false;
};

}  // namespace swarmd::net
