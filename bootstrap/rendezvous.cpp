#include "bootstrap/rendezvous.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bootstrap/log.hpp"
#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/kad.hpp"
#include "net/kad_service.hpp"
#include "net/spawn.hpp"

namespace swarmd::bootstrap {

namespace asio = boost::asio;

namespace {
const net::LogException log_exception{"rendezvous task", boot_log};
}  // namespace

Rendezvous::Rendezvous(asio::any_io_executor executor, net::Host& host, net::KadService& kad,
                       Bytes key, Hooks hooks, RendezvousOptions options)
    : m_executor(executor),
      m_host(host),
      m_kad(kad),
      m_key(std::move(key)),
      m_hooks(std::move(hooks)),
      m_options(options),
      m_timer(executor),
      m_sweep_timer(executor) {}

void Rendezvous::start() {
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->run(); }, log_exception);
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->sweep_loop(); }, log_exception);
}

void Rendezvous::stop() {
    m_stopped = true;
    m_timer.cancel();
    m_sweep_timer.cancel();
}

void Rendezvous::add_dht_peer(const std::shared_ptr<net::Connection>& connection) {
    const auto& peer = connection->remote_peer();
    if (m_dht_peers.contains(peer)) return;
    if (m_dht_peers.size() >= m_options.max_dht_peers) {
        connection->close();
        return;
    }
    m_dht_peers.emplace(peer, connection->remote_addr().without_peer_id().with_peer_id(peer));
    // A DHT search is due now that there is somewhere to search.
    m_timer.cancel();
}

asio::awaitable<void> Rendezvous::sleep(asio::steady_timer& timer, RendezvousOptions::Duration d) {
    timer.expires_after(d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Rendezvous::run() {
    auto self = shared_from_this();
    co_await sleep(m_timer, m_options.first_delay);
    const std::string cid = net::kad::key_cid(m_key);
    bool said_waiting = false;
    while (!m_stopped) {
        if (m_kad.routing_table_size() == 0 && !m_dht_peers.empty()) {
            std::vector<net::Multiaddr> seeds;
            for (const auto& [peer, addr] : m_dht_peers) seeds.push_back(addr);
            co_await m_kad.bootstrap(std::move(seeds));
            if (m_stopped) break;
        }
        if (m_kad.routing_table_size() == 0) {
            m_state = "waiting for a DHT peer";
            if (!said_waiting && !m_dht_peers.empty()) {
                boot_log().info("rendezvous: no DHT peer answered yet; retrying");
                said_waiting = true;
            }
            co_await sleep(m_timer, m_options.no_dht_retry);
            continue;
        }
        m_state = "searching";
        if (m_announced &&
            std::chrono::steady_clock::now() - m_announced_at >= m_options.reannounce)
            m_announced = false;
        if (m_options.announce && !m_announced) {
            auto announced = co_await m_kad.provide(m_key);
            if (m_stopped) break;
            if (announced) {
                m_announced = true;
                m_announced_at = std::chrono::steady_clock::now();
                m_stats.announced_to = announced.value();
                boot_log().info(
                    "rendezvous: announced this node as a provider of {} to {} DHT peers", cid,
                    announced.value());
            } else {
                boot_log().debug("rendezvous: announcing failed: {}", announced.error().message());
            }
        }
        auto providers = co_await m_kad.find_providers(m_key, m_options.max_providers);
        if (m_stopped) break;
        ++m_stats.lookups;
        std::size_t handed = 0;
        std::size_t others = 0;
        std::size_t known = 0;  // providers we are connected to already
        for (auto& p : providers) {
            if (p.id == m_host.peer_id()) continue;
            ++others;
            if (m_host.connection_to(p.id) ||
                (m_hooks.is_swarm_peer && m_hooks.is_swarm_peer(p.id))) {
                ++known;
                continue;
            }
            std::vector<std::string> addrs;
            for (const auto& a : p.addrs) addrs.push_back(a.without_peer_id().to_string());
            if (addrs.empty()) continue;
            ++handed;
            if (m_hooks.found) m_hooks.found(p.id, std::move(addrs));
        }
        m_stats.providers_seen += others;
        m_stats.handed_to_joiner += handed;
        m_state = "found " + std::to_string(others) + " providers";
        if (handed > 0 || m_stats.lookups == 1)
            boot_log().info("rendezvous: {} other providers of {}, {} new to the joiner", others,
                            cid, handed);
        const bool want = !m_hooks.wants_peers || m_hooks.wants_peers();
        // A node connected to no provider yet looks again soon, then less and less often: the
        // swarm's other newcomers announce (or change their addresses) seconds after we do.
        if (want && known == 0) {
            m_fast_delay = m_fast_delay == RendezvousOptions::Duration::zero()
                               ? 2 * m_options.first_delay
                               : std::min(2 * m_fast_delay, m_options.search_interval);
        } else {
            m_fast_delay = m_options.search_interval;
        }
        co_await sleep(m_timer, want ? std::min(m_fast_delay, m_options.search_interval)
                                     : m_options.quiet_interval);
    }
}

void Rendezvous::addrs_changed() {
    if (!m_announced) return;  // the first announcement is still to come, with them
    m_announced = false;
    m_timer.cancel();
}

asio::awaitable<void> Rendezvous::sweep_loop() {
    auto self = shared_from_this();
    while (!m_stopped) {
        co_await sleep(m_sweep_timer, m_options.idle_sweep);
        if (!m_stopped) sweep();
    }
}

void Rendezvous::sweep() {
    std::set<crypto::PeerId> idle;
    std::vector<std::shared_ptr<net::Connection>> to_close;
    for (const auto& c : m_host.connections()) {
        if (!c->usable() || c->stream_count() != 0) continue;
        const auto& peer = c->remote_peer();
        if (m_dht_peers.contains(peer)) continue;
        if (m_hooks.is_swarm_peer && m_hooks.is_swarm_peer(peer)) continue;
        // Only connections this node dialed: an inbound peer chose to connect (a swarm peer
        // before its hello, or a tool such as `swarmd p2p`), and the joiner prunes those.
        if (!c->outbound()) continue;
        if (m_idle_once.contains(peer))
            to_close.push_back(c);
        else
            idle.insert(peer);
    }
    m_idle_once = std::move(idle);
    for (auto& c : to_close) {
        ++m_stats.idle_closed;
        c->close();
    }
}

}  // namespace swarmd::bootstrap
