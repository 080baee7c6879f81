#include "bootstrap/joiner.hpp"

#include <algorithm>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bootstrap/diagnose.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/error.hpp"
#include "bootstrap/log.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/spawn.hpp"

namespace swarmd::bootstrap {
namespace asio = boost::asio;

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The peer id a dialable multiaddr names, if any.
std::optional<crypto::PeerId> peer_of(const std::string& address) {
    auto addr = net::Multiaddr::parse(address);
    if (!addr) return std::nullopt;
    return addr.value().peer_id();
}

const net::LogException log_exception{"join task", boot_log};

}  // namespace

Joiner::Joiner(asio::any_io_executor executor, net::Host& host, DnsaddrResolver& resolver,
               PeerStore store, std::vector<std::string> bootstrap, Hello ours, JoinOptions options,
               std::uint64_t seed)
    : m_executor(executor),
      m_host(host),
      m_resolver(resolver),
      m_store(std::move(store)),
      m_bootstrap(std::move(bootstrap)),
      m_hello(ours),
      m_options(std::move(options)),
      m_rng(seed),
      m_timer(executor) {
    for (const auto& entry : m_bootstrap) m_status.push_back({entry, {}, false});
}

void Joiner::start() {
    if (m_bootstrap.empty() && m_store.peers().empty()) {
        boot_log().info("no bootstrap peers and no stored peers: waiting to be dialed");
    }
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->run(); }, log_exception);
}

void Joiner::stop() {
    m_stopped = true;
    m_timer.cancel();
    save_store();
}

asio::awaitable<void> Joiner::run() {
    while (!m_stopped) {
        tick();
        m_timer.expires_after(m_options.tick);
        boost::system::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

Joiner::Clock::duration Joiner::jittered(Clock::duration d) {
    std::uniform_real_distribution<double> factor(1.0 - m_options.jitter, 1.0 + m_options.jitter);
    return std::chrono::duration_cast<Clock::duration>(d * factor(m_rng));
}

void Joiner::tick() {
    if (m_stopped) return;
    maybe_save_store();
    const std::size_t have = m_connected.size();
    if (have > m_options.high_watermark) prune();
    if (have + m_in_flight >= m_options.target_peers) return;
    const std::size_t budget = std::min(m_options.target_peers - have - m_in_flight,
                                        m_options.max_concurrent_dials > m_in_flight
                                            ? m_options.max_concurrent_dials - m_in_flight
                                            : std::size_t{0});
    auto due = due_candidates(Clock::now(), budget);
    // Nobody left to dial: ask a connected peer for more (at most every few ticks).
    constexpr std::size_t kExchangeEveryTicks = 5;
    if (due.empty() && !m_connected.empty() && ++m_ticks_since_exchange >= kExchangeEveryTicks) {
        m_ticks_since_exchange = 0;
        std::vector<crypto::PeerId> peers(m_connected.begin(), m_connected.end());
        const auto pick = std::uniform_int_distribution<std::size_t>(0, peers.size() - 1)(m_rng);
        asio::co_spawn(
            m_executor,
            [self = shared_from_this(), peer = peers[pick]] { return self->exchange_with(peer); },
            log_exception);
    }
    for (auto& candidate : due) {
        m_dialing.insert(candidate.key);
        ++m_in_flight;
        asio::co_spawn(
            m_executor, [self = shared_from_this(), candidate]() { return self->dial(candidate); },
            log_exception);
    }
}

std::vector<Joiner::Candidate> Joiner::due_candidates(Clock::time_point now, std::size_t want) {
    std::vector<Candidate> out;
    std::set<std::string> chosen_peers;
    auto usable = [&](const std::string& key, const std::optional<crypto::PeerId>& peer) {
        if (out.size() >= want || m_dialing.contains(key)) return false;
        if (peer && (m_connected.contains(*peer) || peer == m_host.peer_id() ||
                     m_host.connection_to(*peer))) {
            return false;
        }
        if (peer && !chosen_peers.insert(peer->to_base58()).second) return false;
        auto it = m_retry.find(key);
        return it == m_retry.end() || it->second.next <= now;
    };
    auto add_bootstrap = [&] {
        for (std::size_t i = 0; i < m_bootstrap.size(); ++i) {
            const auto& entry = m_bootstrap[i];
            if (usable(entry, peer_of(entry))) out.push_back({entry, entry, static_cast<int>(i)});
        }
    };
    // With too few connections the bootstrap list comes first; otherwise gossip-learned and
    // stored peers spread the load away from the bootstrap nodes.
    if (m_connected.size() < m_options.low_watermark) add_bootstrap();
    for (const auto& [peer, learned] : m_learned) {
        const auto key = peer.to_base58();
        // Two peers that learn of each other at once would dial each other at once and end up
        // with two connections: the lower peer id dials first. The higher one still dials later,
        // or a peer whose id sorts high could be left waiting by peers that are already full.
        const bool our_turn =
            m_host.peer_id() < peer || now - learned.since >= m_options.deferred_dial;
        if (learned.addrs.empty() || !our_turn || !usable(key, peer)) continue;
        out.push_back({key, learned.addrs.front() + "/p2p/" + key, -1});
    }
    for (const auto& record : m_store.candidates(PeerStore::kMaxPeers)) {
        auto peer = crypto::PeerId::parse(record.peer_id);
        if (!peer || record.addrs.empty() || !usable(record.peer_id, peer.value())) continue;
        out.push_back({record.peer_id, record.addrs.front() + "/p2p/" + record.peer_id, -1});
    }
    add_bootstrap();
    return out;
}

asio::awaitable<void> Joiner::dial(Candidate candidate) {
    const auto ec = co_await dial_address(candidate.address);
    --m_in_flight;
    m_dialing.erase(candidate.key);
    if (!m_stopped) record_result(candidate, ec);
}

asio::awaitable<std::error_code> Joiner::dial_address(const std::string& address) {
    std::vector<std::string> addresses{address};
    if (is_dnsaddr(address)) {
        auto resolved = co_await m_resolver.resolve(address);
        if (!resolved) co_return resolved.error();
        addresses = std::move(resolved.value());
    }
    std::error_code last = make_error_code(Errc::dnsaddr_no_records);
    for (const auto& a : addresses) {
        auto addr = net::Multiaddr::parse(a);
        if (!addr) {
            last = addr.error();
            continue;
        }
        auto connection = co_await m_host.dial(addr.value());
        if (!connection) {
            last = connection.error();
            continue;
        }
        const auto peer = connection.value()->remote_peer();
        auto hello = co_await say_hello(m_host, peer, m_hello);
        if (!hello && hello.error() == net::Errc::protocol_not_supported && m_on_dht_peer) {
            m_on_dht_peer(connection.value());
            co_return make_error_code(Errc::dht_only_peer);
        }
        if (!hello) {
            connection.value()->stop(hello.error(), net::Phase::session);
            last = hello.error();
            continue;
        }
        m_connected.insert(peer);
        if (m_connected.size() < m_options.target_peers) {
            asio::co_spawn(
                m_executor, [self = shared_from_this(), peer] { return self->exchange_with(peer); },
                log_exception);
        }
        co_return std::error_code{};
    }
    co_return last;
}

void Joiner::record_result(const Candidate& candidate, std::error_code ec) {
    if (ec == Errc::dht_only_peer) {
        m_retry.erase(candidate.key);
        if (candidate.bootstrap_index >= 0) {
            auto& status = m_status[static_cast<std::size_t>(candidate.bootstrap_index)];
            if (!status.reached)
                boot_log().info(
                    "bootstrap {}: a libp2p peer outside the swarm; searching the DHT "
                    "through it",
                    candidate.address);
            status = {status.entry, {}, true};
            m_unreachable_reported = false;
        }
        return;
    }
    if (!ec) {
        m_retry.erase(candidate.key);
        if (candidate.bootstrap_index >= 0) {
            auto& status = m_status[static_cast<std::size_t>(candidate.bootstrap_index)];
            if (!status.reached) boot_log().info("joined through bootstrap {}", candidate.address);
            status = {status.entry, {}, true};
            m_unreachable_reported = false;
        }
        return;
    }
    auto& retry = m_retry[candidate.key];
    retry.delay = std::clamp(retry.delay * 2, m_options.initial_retry, m_options.max_retry);
    retry.next = Clock::now() + jittered(retry.delay);
    if (candidate.bootstrap_index >= 0) {
        auto& status = m_status[static_cast<std::size_t>(candidate.bootstrap_index)];
        // The host refused to try (its own backoff after a failure): nothing new was learned.
        if (ec == net::Errc::dial_backoff && status.last_error) return;
        // One line per change of diagnosis, not one per retry.
        if (classify(status.last_error) != classify(ec) || status.reached) {
            boot_log().warn("{}", describe_failure(candidate.address, ec));
        }
        status.last_error = ec;
        status.reached = false;
        report_unreachable();
    } else {
        m_store.record_failure(candidate.key);
        m_store_dirty = true;
        if (auto peer = crypto::PeerId::parse(candidate.key)) m_learned.erase(peer.value());
    }
}

void Joiner::report_unreachable() {
    if (m_unreachable_reported || !m_connected.empty() || m_status.empty()) return;
    std::map<std::string, std::size_t> causes;
    for (const auto& status : m_status) {
        if (status.reached || !status.last_error) return;  // not every entry was tried yet
        ++causes[std::string(failure_name(classify(status.last_error)))];
    }
    m_unreachable_reported = true;
    const bool offline = std::all_of(causes.begin(), causes.end(), [](const auto& c) {
        return c.first == failure_name(JoinFailure::unreachable) ||
               c.first == failure_name(JoinFailure::dns_failure);
    });
    std::string why;
    for (const auto& [cause, count] : causes) {
        why += (why.empty() ? "" : ", ") + std::to_string(count) + " " + cause;
    }
    std::string listening;
    for (const auto& a : m_host.listen_addrs()) {
        listening += (listening.empty() ? "" : " ") + a.to_string();
    }
    boot_log().warn(
        "none of the {} bootstrap peers can be reached ({}){}: still listening on {}, retrying "
        "each with backoff up to {} s",
        m_status.size(), why, offline ? " — this machine looks offline (no route, no DNS)" : "",
        listening.empty() ? "nothing" : listening,
        std::chrono::duration_cast<std::chrono::seconds>(m_options.max_retry).count());
}

void Joiner::on_connected(const std::shared_ptr<net::Connection>& connection,
                          const std::vector<std::string>& listen_addrs) {
    const auto peer = connection->remote_peer();
    m_connected.insert(peer);
    m_learned.erase(peer);
    std::vector<std::string> addrs;
    for (const auto& a : listen_addrs) {
        auto addr = net::Multiaddr::parse(a);
        if (addr) addrs.push_back(addr.value().without_peer_id().to_string());
    }
    // The peer speaks for its own addresses, within the scope it was reached from.
    addrs = filter_learned(addrs, scope_of(connection->remote_addr()));
    // An inbound peer's ephemeral source port is useless for dialing back.
    if (addrs.empty() && connection->outbound()) {
        addrs.push_back(connection->remote_addr().without_peer_id().to_string());
    }
    if (!addrs.empty()) {
        m_store.observe(peer.to_base58(), addrs, unix_now());
        m_store_dirty = true;
        maybe_save_store();
    }
}

void Joiner::on_disconnected(const crypto::PeerId& peer) {
    if (m_connected.erase(peer) == 0 || !m_connected.empty() || m_stopped) return;
    // Lost every peer: go back to the bootstrap list at once.
    boot_log().warn("lost every peer; re-bootstrapping");
    for (const auto& entry : m_bootstrap) m_retry.erase(entry);
    m_timer.cancel();
}

void Joiner::add_candidate(const crypto::PeerId& peer, std::vector<std::string> addrs,
                           Scope informant) {
    const std::size_t offered = addrs.size();
    addrs = filter_learned(addrs, informant);
    if (addrs.size() < offered)
        boot_log().debug("learned addresses refused: {} of {} peer={}", offered - addrs.size(),
                         offered, peer.to_base58());
    if (peer == m_host.peer_id() || m_connected.contains(peer) || addrs.empty()) return;
    constexpr std::size_t kMaxLearned = 256;
    if (m_learned.size() >= kMaxLearned && !m_learned.contains(peer)) return;
    auto it = m_learned.try_emplace(peer, Learned{{}, Clock::now()}).first;
    it->second.addrs = std::move(addrs);
}

asio::awaitable<void> Joiner::exchange_with(crypto::PeerId peer) {
    auto peers = co_await request_peers(m_host, peer);
    if (!peers) {
        boot_log().debug("peer exchange failed: {} peer={}", peers.error().message(),
                         peer.to_base58());
        co_return;
    }
    auto connection = m_host.connection_to(peer);
    const Scope informant = connection ? scope_of(connection->remote_addr()) : Scope::public_net;
    for (auto& info : peers.value()) add_candidate(info.peer, std::move(info.addrs), informant);
    if (!m_stopped && !peers.value().empty()) m_timer.cancel();  // dial them now
}

std::vector<PeerInfo> Joiner::known_peers() const {
    std::vector<PeerInfo> out;
    for (const auto& peer : m_connected) {
        const auto* info = m_host.identified(peer);
        if (!info) continue;
        PeerInfo p{peer, {}};
        for (const auto& raw : info->listen_addrs) {
            auto addr = net::Multiaddr::from_bytes(raw);
            if (!addr) continue;
            auto endpoint = addr.value().tcp_endpoint();
            // An unspecified listen address says nothing about where to dial.
            if (!endpoint || endpoint->host == "0.0.0.0" || endpoint->host == "::") continue;
            p.addrs.push_back(addr.value().without_peer_id().to_string());
        }
        if (!p.addrs.empty()) out.push_back(std::move(p));
    }
    return out;
}

void Joiner::prune() {
    std::vector<crypto::PeerId> victims;
    for (const auto& peer : m_connected) {
        if (!m_keep || !m_keep(peer)) victims.push_back(peer);
    }
    std::shuffle(victims.begin(), victims.end(), m_rng);
    std::size_t excess = m_connected.size() - m_options.target_peers;
    for (const auto& peer : victims) {
        if (excess == 0) break;
        if (auto connection = m_host.connection_to(peer)) {
            connection->close();
            --excess;
        }
    }
}

void Joiner::maybe_save_store() {
    const auto now = Clock::now();
    if (!m_store_dirty || now < m_next_store_save) return;
    save_store();
    m_next_store_save = now + m_options.store_save_interval;
}

void Joiner::save_store() {
    m_store_dirty = false;
    if (m_options.peer_store_path.empty()) return;
    ++m_store_saves;
    if (auto ec = m_store.save(m_options.peer_store_path)) {
        boot_log().warn("cannot save peer store {}: {}", m_options.peer_store_path.string(),
                        ec.message());
    }
}

}  // namespace swarmd::bootstrap
