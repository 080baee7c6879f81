#include "bootstrap/reach.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bootstrap/log.hpp"
#include "net/autonat_service.hpp"
#include "net/connection.hpp"
#include "net/dcutr_service.hpp"
#include "net/host.hpp"
#include "net/interface_addrs.hpp"
#include "net/kad_service.hpp"
#include "net/relay.hpp"
#include "net/relay_service.hpp"
#include "net/spawn.hpp"

namespace swarmd::bootstrap {

namespace asio = boost::asio;

namespace {
const net::LogException log_exception{"reachability task", boot_log};

void add_unique(std::vector<net::Multiaddr>& out, const net::Multiaddr& a) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
}
}  // namespace

bool looks_translated(const std::vector<net::Multiaddr>& listen,
                      const std::vector<net::Multiaddr>& observed,
                      const net::AddressPolicy& policy) {
    auto is_public = [&](const net::Multiaddr& a) {
        return !net::is_relayed(a) && net::IpAddress::of(a) &&
               policy.scope(a) == net::AddressScope::public_;
    };
    return std::none_of(listen.begin(), listen.end(), is_public) &&
           std::any_of(observed.begin(), observed.end(), is_public);
}

Reach::Reach(asio::any_io_executor executor, net::Host& host, const crypto::PrivateKey& identity,
             net::KadService& kad, ReachOptions options)
    : m_executor(executor),
      m_host(host),
      m_kad(kad),
      m_options(std::move(options)),
      m_timer(executor) {
    net::AutoNatServiceOptions autonat;
    autonat.treat_as_public = m_options.treat_as_public;
    m_autonat = std::make_shared<net::AutoNatService>(executor, host, autonat);
    net::RelayServiceOptions relay;
    relay.server = m_options.relay_server;
    relay.advertised_addrs = [this] { return net::announced_addrs(m_host.listen_addrs()); };
    m_relay = std::make_shared<net::RelayService>(executor, host, identity.clone(), relay);
    net::DcutrServiceOptions dcutr;
    dcutr.treat_as_public = m_options.treat_as_public;
    dcutr.local_addrs = [this] { return punch_addrs(); };
    m_dcutr = std::make_shared<net::DcutrService>(executor, host, dcutr);
}

Reach::~Reach() = default;

void Reach::start() {
    m_relay->start();
    m_dcutr->start();
    m_autonat->on_reachability_changed([w = weak_from_this()](net::autonat::Reachability r) {
        if (auto self = w.lock()) self->reachability_changed(r);
    });
    m_autonat->start();
    if (m_options.public_roles) take_public_roles();
    m_host.set_address_source([w = weak_from_this(), &host = m_host] {
        if (auto self = w.lock(); self && !self->m_stopped) return self->advertised_addrs();
        return net::announced_addrs(host.listen_addrs());
    });
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->relay_loop(); }, log_exception);
}

void Reach::stop() {
    m_stopped = true;
    m_timer.cancel();
    m_autonat->stop();
    m_relay->stop();
    m_dcutr->stop();
}

void Reach::on_identify(const std::shared_ptr<net::Connection>& connection,
                        const net::IdentifyInfo& info) {
    m_autonat->on_identify(connection, info);
    m_dcutr->on_identify(connection, info);
    const auto& peer = connection->remote_peer();
    const bool hop = info.lists(net::relay::kHopProtocol);
    if (hop && !connection->relayed() && m_relay_candidates.size() < 64)
        m_relay_candidates.insert_or_assign(
            peer, connection->remote_addr().without_peer_id().with_peer_id(peer));
    else if (!hop)
        m_relay_candidates.erase(peer);
    // The first sign of NAT with a relay at hand: reserve now, not at the next check, since
    // nobody can dial us until we have a circuit address.
    if (!m_relay_woken && !m_relay_candidates.empty() && behind_nat()) {
        m_relay_woken = true;
        m_timer.cancel();
    }
}

void Reach::on_connection_closed(const std::shared_ptr<net::Connection>& connection) {
    m_relay->on_connection_closed(connection);
    if (!m_host.connection_to(connection->remote_peer()))
        m_relay_candidates.erase(connection->remote_peer());
}

net::autonat::Reachability Reach::reachability() const noexcept {
    return m_autonat->reachability();
}

std::vector<net::Multiaddr> Reach::relay_addrs() const { return m_relay->circuit_addrs(); }
std::vector<net::Multiaddr> Reach::confirmed_addrs() const { return m_autonat->confirmed_addrs(); }

std::vector<net::Multiaddr> Reach::punch_addrs() const {
    std::vector<net::Multiaddr> out;
    for (const auto& a : m_autonat->observed_addrs()) add_unique(out, a.without_peer_id());
    for (const auto& a : m_autonat->confirmed_addrs()) add_unique(out, a.without_peer_id());
    for (const auto& a : net::announced_addrs(m_host.listen_addrs()))
        add_unique(out, a.without_peer_id());
    return out;  // DcutrService keeps the public TCP ones
}

const net::DcutrStats& Reach::dcutr_stats() const noexcept { return m_dcutr->stats(); }

bool Reach::behind_nat() const {
    switch (reachability()) {
        case net::autonat::Reachability::private_:
            return true;
        case net::autonat::Reachability::public_:
            return false;
        case net::autonat::Reachability::unknown:
            break;
    }
    return looks_translated(net::announced_addrs(m_host.listen_addrs()),
                            m_autonat->observed_addrs(), m_autonat->policy());
}

std::vector<net::Multiaddr> Reach::advertised_addrs() const {
    std::vector<net::Multiaddr> out;
    if (behind_nat())
        for (const auto& a : m_relay->circuit_addrs()) add_unique(out, a);
    for (const auto& a : net::announced_addrs(m_host.listen_addrs()))
        add_unique(out, a.without_peer_id());
    for (const auto& a : m_autonat->confirmed_addrs()) add_unique(out, a.without_peer_id());
    return out;
}

void Reach::take_public_roles() {
    if (m_public_roles_on) return;
    m_public_roles_on = true;
    m_kad.set_server_mode(true);
    m_autonat->set_server_mode(true);
    m_relay->enable_server();
    boot_log().info("serving the DHT, AutoNAT dial-backs and circuit relay to other nodes");
}

void Reach::refresh_addrs() {
    if (m_host.refresh_addrs() && m_on_addrs_changed) m_on_addrs_changed();
}

void Reach::reachability_changed(net::autonat::Reachability r) {
    boot_log().info("reachability: {}", net::autonat::to_string(r));
    if (r == net::autonat::Reachability::public_) {
        take_public_roles();
    } else if (r == net::autonat::Reachability::private_) {
        // Behind NAT: stay a DHT client (the handlers stay registered but nobody should be
        // told to use us) and reach others through relays.
        if (!m_options.public_roles) m_kad.set_server_mode(false);
        m_timer.cancel();
    }
    refresh_addrs();
}

asio::awaitable<void> Reach::relay_loop() {
    auto self = shared_from_this();
    while (!m_stopped) {
        m_timer.expires_after(m_options.relay_check);
        boost::system::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (m_stopped) break;
        refresh_addrs();
        if (!behind_nat()) continue;
        std::size_t held = 0;
        for (const auto& [peer, addr] : m_relay_candidates)
            if (m_relay->has_reservation(peer)) ++held;
        if (held >= m_options.relays_wanted) continue;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& [peer, addr] : std::map(m_relay_candidates)) {
            if (m_stopped || held >= m_options.relays_wanted) break;
            if (m_relay->has_reservation(peer)) continue;
            auto failed = m_relay_failed.find(peer);
            if (failed != m_relay_failed.end() && now - failed->second < m_options.relay_retry)
                continue;
            auto granted = co_await m_relay->reserve(addr);
            if (m_stopped) break;
            if (!granted) {
                m_relay_failed[peer] = now;
                boot_log().info("relay {} refused a reservation: {}", peer.to_base58(),
                                granted.error().message());
                continue;
            }
            ++held;
            refresh_addrs();
            std::string circuits;
            for (const auto& a : m_relay->circuit_addrs())
                circuits += (circuits.empty() ? "" : " ") + a.to_string();
            boot_log().info("reserved a slot on relay {}: reachable at {}", peer.to_base58(),
                            circuits);
        }
    }
}

}  // namespace swarmd::bootstrap
