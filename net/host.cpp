#include "net/host.hpp"

#include <algorithm>
#include <chrono>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/detail/byte_stream.hpp"
#include "net/detail/stream_negotiation.hpp"
#include "net/error.hpp"
#include "net/host_error.hpp"
#include "net/log.hpp"
#include "net/ping.hpp"
#include "net/relay.hpp"
#include "net/spawn.hpp"

namespace swarmd::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// No Nagle delay; and a peer that vanishes without a word (a cable pulled, a NAT mapping gone, a
// laptop asleep) must not hold its connection for the ~15 minutes of TCP's retransmissions:
// TCP_USER_TIMEOUT aborts a connection whose sent data stays unacknowledged that long, and
// keepalive probes find the same on a connection with nothing to send.
void tune_socket(tcp::socket& socket, std::chrono::milliseconds dead_after) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (dead_after.count() <= 0) return;
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    const int fd = socket.native_handle();
    const auto user_timeout = static_cast<unsigned>(dead_after.count());
    const int idle = std::max(1, static_cast<int>(dead_after.count() / 2000));
    const int interval = std::max(1, static_cast<int>(dead_after.count() / 6000));
    const int count = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// SO_REUSEPORT, which Asio has no option for: the listener and the sockets dialing out of its
// port all set it.
template <typename Socket>
void set_reuse_port(Socket& socket, boost::system::error_code& ec) {
    const int on = 1;
    if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
        ec.assign(errno, boost::system::system_category());
}

Multiaddr endpoint_multiaddr(const tcp::endpoint& endpoint) {
    auto addr = Multiaddr::from_ip_tcp(endpoint.address().to_string(), endpoint.port());
    return addr ? addr.value() : Multiaddr{};
}

bool closed_meanwhile(std::error_code reason) {
    return reason == Errc::connection_closed || reason == Errc::go_away_received;
}

std::string peer_text(const std::optional<crypto::PeerId>& peer) {
    return peer ? peer->to_base58() : "unknown";
}

bool is_orderly(std::error_code reason) {
    return !reason || reason == Errc::connection_closed || reason == Errc::go_away_received;
}

// A short, bounded label for a failed connection's reason, for /metrics.
std::string failure_label(std::error_code reason) {
    if (reason.category() != net_category()) return "io";
    switch (static_cast<Errc>(reason.value())) {
        case Errc::peer_not_reading:
            return "peer_not_reading";
        case Errc::inbound_budget:
            return "inbound_budget";
        case Errc::too_many_streams:
            return "too_many_streams";
        case Errc::window_exceeded:
            return "window_exceeded";
        case Errc::timeout:
            return "timeout";
        case Errc::peer_id_mismatch:
            return "peer_id_mismatch";
        case Errc::private_network_mismatch:
            return "private_network";
        default:
            return "protocol";
    }
}

void add_traffic(HostTraffic& total, const Connection& connection) {
    (connection.relayed() ? total.relayed_sent : total.direct_sent) += connection.bytes_sent();
    (connection.relayed() ? total.relayed_received : total.direct_received) +=
        connection.bytes_received();
}

std::string ip_of(const Multiaddr& addr) {
    // A relayed connection's address starts with the relay's: it is not a socket from there.
    if (relay::is_circuit_addr(addr)) return std::string();
    auto endpoint = addr.tcp_endpoint();
    return endpoint ? endpoint->host : std::string();
}

}  // namespace

Host::Host(asio::any_io_executor executor, crypto::PrivateKey identity, HostOptions options)
    : m_executor(std::move(executor)),
      m_identity(std::move(identity)),
      m_public_key(m_identity.public_key()),
      m_peer_id(crypto::PeerId::from_public_key(m_public_key)),
      m_noise_identity(std::make_shared<NoiseIdentity>(m_identity)),
      m_options(std::move(options)),
      m_alive(std::make_shared<bool>(true)) {
    set_handler(std::string(kIdentifyProtocol),
                [this](std::shared_ptr<Stream> s) { return answer_identify(std::move(s)); });
    set_handler(std::string(kPingProtocol),
                [this](std::shared_ptr<Stream> s) { return answer_ping(std::move(s)); });
}

Host::~Host() {
    *m_alive = false;
    stop();
}

Result<Multiaddr> Host::listen(const Multiaddr& addr) {
    const auto endpoint = addr.tcp_endpoint();
    if (!endpoint || endpoint->host_protocol == Protocol::dns ||
        endpoint->host_protocol == Protocol::dns4 || endpoint->host_protocol == Protocol::dns6)
        return HostErrc::unsupported_address;
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(endpoint->host, ec);
    if (ec) return HostErrc::unsupported_address;
    auto acceptor = std::make_shared<tcp::acceptor>(m_executor);
    const tcp::endpoint local(ip, endpoint->port);
    if (m_options.dial_from_listen_port && endpoint->port != 0) {
        // SO_REUSEPORT would let this bind share a port another listener holds: a plain bind
        // first keeps "address in use" an error.
        tcp::acceptor probe(m_executor);
        probe.open(local.protocol(), ec);
        if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) probe.bind(local, ec);
        boost::system::error_code ignored;
        probe.close(ignored);
    }
    if (!ec) acceptor->open(local.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && m_options.dial_from_listen_port) set_reuse_port(*acceptor, ec);
    if (!ec) acceptor->bind(local, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        net_log().warn("listen failed phase=listen error={} addr={} peer={}", ec.message(),
                       addr.to_string(), m_peer_id.to_base58());
        return std::error_code(ec);
    }
    Multiaddr bound = endpoint_multiaddr(acceptor->local_endpoint());
    m_listen_addrs.push_back(bound);
    refresh_addrs();
    m_acceptors.push_back(acceptor);
    asio::co_spawn(m_executor, accept_loop(acceptor), LogException{"accept loop"});
    net_log().info("listening on {}", bound.with_peer_id(m_peer_id).to_string());
    return bound.with_peer_id(m_peer_id);
}

std::vector<Multiaddr> Host::listen_addrs() const {
    std::vector<Multiaddr> out;
    for (const Multiaddr& addr : m_listen_addrs) out.push_back(addr.with_peer_id(m_peer_id));
    return out;
}

void Host::set_address_source(AddressSource source) {
    m_address_source = std::move(source);
    refresh_addrs();
}

bool Host::refresh_addrs() {
    std::vector<Multiaddr> now;
    if (m_address_source) {
        for (const Multiaddr& addr : m_address_source()) {
            Multiaddr bare = addr.peer_id() == m_peer_id ? addr.without_peer_id() : addr;
            if (std::find(now.begin(), now.end(), bare) == now.end())
                now.push_back(std::move(bare));
        }
    } else {
        now = m_listen_addrs;
    }
    if (now == m_advertised && !m_signed_record.empty()) return false;
    m_advertised = std::move(now);
    if (!m_advertised.empty()) seal_own_record();
    return true;
}

void Host::set_handler(std::string protocol, StreamHandler handler) {
    m_handlers[std::move(protocol)] = std::move(handler);
}

std::vector<std::string> Host::protocols() const {
    std::vector<std::string> out;
    for (const auto& [protocol, handler] : m_handlers) out.push_back(protocol);
    return out;
}

std::shared_ptr<Connection> Host::connection_to(const crypto::PeerId& peer) const {
    std::shared_ptr<Connection> relayed;
    for (const auto& connection : m_connections) {
        if (!connection->usable() || connection->remote_peer() != peer) continue;
        if (!connection->relayed()) return connection;
        if (!relayed) relayed = connection;
    }
    return relayed;
}

HostTraffic Host::traffic() const {
    HostTraffic total = m_closed_traffic;
    for (const auto& connection : m_connections) add_traffic(total, *connection);
    return total;
}

const IdentifyInfo* Host::identified(const crypto::PeerId& peer) const {
    auto it = m_identified.find(peer);
    return it == m_identified.end() ? nullptr : &it->second;
}

void Host::stop() {
    if (m_stopped) return;
    m_stopped = true;
    for (auto& acceptor : m_acceptors) {
        boost::system::error_code ignored;
        acceptor->close(ignored);
    }
    auto connections = m_connections;
    for (auto& connection : connections) connection->close();
}

Connection::InboundStreamHandler Host::stream_handler() {
    return [this, alive = m_alive](std::shared_ptr<Stream> stream) {
        if (!*alive) return;
        asio::co_spawn(m_executor, serve_stream(std::move(stream)), LogException{"inbound stream"});
    };
}

Connection::ClosedHandler Host::closed_handler() {
    return [this, alive = m_alive](Connection& closed) {
        if (!*alive) return;
        auto it = std::find_if(m_connections.begin(), m_connections.end(),
                               [&](const auto& c) { return c.get() == &closed; });
        if (it == m_connections.end()) return;
        auto connection = *it;
        m_connections.erase(it);
        add_traffic(m_closed_traffic, *connection);
        if (connection->close_reason() == Errc::peer_not_allowed) {
            ++m_stats.refused_not_allowed;
        } else if (!is_orderly(connection->close_reason())) {
            ++m_stats.failed_by_reason[failure_label(connection->close_reason())];
        }
        if (!connection_to(connection->remote_peer()))
            m_identified.erase(connection->remote_peer());
        if (m_on_closed) m_on_closed(connection);
    };
}

asio::awaitable<void> Host::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
    auto alive = m_alive;
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket =
            co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || m_stopped || !acceptor->is_open()) co_return;
        if (ec) {
            net_log().warn("accept failed phase=listen error={}", ec.message());
            // Out of descriptors and similar: pause rather than spin.
            asio::steady_timer pause(m_executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        boost::system::error_code ignored;
        const tcp::endpoint endpoint = socket.remote_endpoint(ignored);
        const Multiaddr remote = endpoint_multiaddr(endpoint);
        if (const char* reason = refusal(endpoint.address())) {
            log_refusal(reason, remote);
            socket.close(ignored);
            continue;
        }
        tune_socket(socket, std::chrono::duration_cast<std::chrono::milliseconds>(
                                m_options.dead_peer_timeout));
        // A socket from a peer we are punching to belongs to the punch: it is upgraded in the
        // punch's role, as the peer does with its end.
        const auto punch = punch_from(endpoint.address().to_string());
        auto connection = std::make_shared<Connection>(std::move(socket), false, remote,
                                                       punch ? punch->expected() : std::nullopt,
                                                       m_options.connection);
        if (punch) connection->set_initiator(punch->initiator);
        m_connections.push_back(connection);
        asio::co_spawn(m_executor, serve_inbound(std::move(connection)),
                       LogException{"inbound connection"});
    }
}

const char* Host::refusal(const asio::ip::address& ip) {
    std::size_t inbound = 0;
    std::size_t from_ip = 0;
    std::size_t handshaking = 0;
    const std::string text = ip.to_string();
    for (const auto& connection : m_connections) {
        if (connection->outbound()) continue;
        ++inbound;
        if (ip_of(connection->remote_addr()) != text) continue;
        ++from_ip;
        if (connection->state() == Connection::State::upgrading) ++handshaking;
    }
    if (inbound >= m_options.max_inbound) {
        ++m_stats.refused_inbound_limit;
        return "inbound connection limit reached";
    }
    if (ip.is_loopback() && !m_options.limit_loopback) return nullptr;
    if (from_ip >= m_options.max_inbound_per_address) {
        ++m_stats.refused_address_limit;
        return "per-address connection limit reached";
    }
    if (handshaking >= m_options.max_handshakes_per_address) {
        ++m_stats.refused_handshake_limit;
        return "per-address handshake limit reached";
    }
    return nullptr;
}

void Host::log_refusal(const char* reason, const Multiaddr& remote) {
    // One line per interval at most: a flood of sockets must not become a flood of log lines.
    const Clock::time_point now = m_options.clock();
    if (now < m_next_refusal_log) {
        ++m_refusals_unlogged;
        return;
    }
    if (m_refusals_unlogged > 0) {
        net_log().warn(
            "connection refused phase=listen error={} addr={} peer=unknown "
            "(and {} more refused since the last such line)",
            reason, remote.to_string(), m_refusals_unlogged);
    } else {
        net_log().warn("connection refused phase=listen error={} addr={} peer=unknown", reason,
                       remote.to_string());
    }
    m_refusals_unlogged = 0;
    m_next_refusal_log = now + m_options.refusal_log_interval;
}

asio::awaitable<void> Host::serve_inbound(std::shared_ptr<Connection> connection) {
    auto alive = m_alive;
    auto upgraded =
        co_await connection->run_upgrade(m_noise_identity, stream_handler(), closed_handler());
    if (!upgraded || !*alive) co_return;
    adopt(connection);
}

std::shared_ptr<Connection> Host::adopt(const std::shared_ptr<Connection>& fresh) {
    auto kept = keep_one_connection(fresh);
    settle_punches(kept);
    if (kept == fresh && m_options.identify_on_connect)
        asio::co_spawn(m_executor, identify_on_connect(fresh), LogException{"identify"});
    return kept;
}

std::shared_ptr<Connection> Host::keep_one_connection(const std::shared_ptr<Connection>& fresh) {
    std::shared_ptr<Connection> existing;
    for (const auto& connection : m_connections) {
        if (connection != fresh && connection->usable() &&
            connection->remote_peer() == fresh->remote_peer()) {
            existing = connection;
            break;
        }
    }
    if (!existing) return fresh;
    const auto dialer = [&](const Connection& c) -> const crypto::PeerId& {
        // The upgrade's initiator: after a hole punch both sides dialed, and DCUtR named one.
        return c.initiator() ? m_peer_id : c.remote_peer();
    };
    const crypto::PeerId& fresh_dialer = dialer(*fresh);
    const crypto::PeerId& existing_dialer = dialer(*existing);
    std::shared_ptr<Connection> keep = existing;
    std::shared_ptr<Connection> drop = fresh;
    if (fresh->relayed() != existing->relayed()) {
        // Direct beats relayed on both sides alike: the relay limits what it carries.
        if (!fresh->relayed()) std::swap(keep, drop);
    } else if (fresh_dialer == existing_dialer) {
        // Both dialed by one side (say, two addresses of the peer): that side keeps the older
        // one and drains the newer; the other side follows its GoAway.
        if (fresh_dialer != m_peer_id) return existing;
    } else if (fresh_dialer < existing_dialer) {
        std::swap(keep, drop);
    }
    net_log().debug("duplicate connection: keeping dir={} draining dir={} peer={}",
                    keep->outbound() ? "out" : "in", drop->outbound() ? "out" : "in",
                    fresh->remote_peer().to_base58());
    drop->drain();
    return keep;
}

asio::awaitable<void> Host::serve_stream(std::shared_ptr<Stream> stream) {
    auto alive = m_alive;
    stream->set_deadline(Clock::now() + m_options.connection.stream_negotiation_timeout);
    auto protocol = co_await detail::negotiate_stream_inbound(*stream, protocols());
    if (!*alive) co_return;
    if (!protocol) {
        net_log().debug("inbound stream negotiation failed error={} peer={}",
                        (stream->error() ? stream->error() : protocol.error()).message(),
                        stream->remote_peer().to_base58());
        stream->reset();
        co_return;
    }
    stream->set_deadline(Clock::time_point::max());
    stream->set_protocol(protocol.value());
    auto handler = m_handlers.find(protocol.value());
    if (handler == m_handlers.end()) {
        stream->reset();
        co_return;
    }
    auto owned = stream;
    co_await handler->second(std::move(stream));
    // Whatever the handler left open must not hold the peer's data or a stream slot for ever.
    owned->release();
}

asio::awaitable<void> Host::answer_identify(std::shared_ptr<Stream> stream) {
    IdentifyInfo info;
    info.public_key = m_public_key;
    for (const Multiaddr& addr : m_advertised) info.listen_addrs.push_back(addr.to_bytes());
    if (auto connection = connection_to(stream->remote_peer()))
        info.observed_addr = connection->remote_addr().to_bytes();
    info.protocols = protocols();
    info.agent_version = m_options.agent_version;
    info.protocol_version = std::string(kIdentifyProtocolVersion);
    if (!m_signed_record.empty()) info.signed_peer_record = m_signed_record;
    auto body = encode_identify(info);
    if (!body) {
        net_log().warn("identify answer failed phase=identify error={} peer={}",
                       body.error().message(), stream->remote_peer().to_base58());
        stream->reset();
        co_return;
    }
    auto written = co_await stream->write_length_prefixed(body.value());
    if (written) stream->close_write();
}

asio::awaitable<void> Host::answer_ping(std::shared_ptr<Stream> stream) {
    const crypto::PeerId peer = stream->remote_peer();
    std::size_t& active = m_inbound_pings[peer];
    if (active >= m_options.max_inbound_ping_streams) {
        net_log().debug("ping stream refused: {} already open peer={}", active, peer.to_base58());
        stream->reset();
        co_return;
    }
    ++active;
    // Counted down however the coroutine ends, unless the host is gone by then.
    struct Release {
        Host* host;
        std::shared_ptr<bool> alive;
        crypto::PeerId peer;
        ~Release() {
            if (!*alive) return;
            auto it = host->m_inbound_pings.find(peer);
            if (it != host->m_inbound_pings.end() && --it->second == 0)
                host->m_inbound_pings.erase(it);
        }
    } release{this, m_alive, peer};
    PingResponder responder;
    std::array<std::uint8_t, 256> buffer{};
    for (;;) {
        auto n = co_await stream->read_some(buffer);
        if (!n || n.value() == 0) break;
        const Bytes echo = responder.on_data(ByteSpan(buffer).first(n.value()));
        if (echo.empty()) continue;
        auto written = co_await stream->write(echo);
        if (!written) co_return;
    }
    stream->close_write();
}

asio::awaitable<void> Host::identify_on_connect(std::shared_ptr<Connection> connection) {
    auto info = co_await identify(connection);
    if (!info) {
        // Logged by identify(); a peer that proves a different key is not who it claimed.
        if (info.error() == Errc::peer_id_mismatch) connection->stop(info.error(), Phase::identify);
    }
}

asio::awaitable<Result<IdentifyInfo>> Host::identify(std::shared_ptr<Connection> connection) {
    auto alive = m_alive;
    const crypto::PeerId peer = connection->remote_peer();
    auto fail = [&](std::error_code reason) -> Result<IdentifyInfo> {
        // A connection that closed meanwhile was already logged with its own reason.
        net_log().log(closed_meanwhile(reason) ? spdlog::level::debug : spdlog::level::warn,
                      "identify failed phase=identify error={} peer={}", reason.message(),
                      peer.to_base58());
        return reason;
    };
    auto stream = co_await connection->open_stream(std::string(kIdentifyProtocol));
    if (!stream) co_return fail(stream.error());
    stream.value()->set_deadline(Clock::now() + m_options.identify_timeout);
    auto body = co_await stream.value()->read_length_prefixed(kMaxIdentifyMessageSize);
    if (!body) co_return fail(body.error());
    stream.value()->close_write();
    auto info = decode_identify(body.value());
    if (!info) co_return fail(info.error());
    if (crypto::PeerId::from_public_key(*info.value().public_key) != peer)
        co_return fail(Errc::peer_id_mismatch);
    if (!*alive) co_return info;
    stream.value()->set_deadline(Clock::time_point::max());
    m_identified[peer] = info.value();
    if (info.value().signed_peer_record) {
        // A bad or stale record costs the peer nothing but the record: its addresses stay known
        // from identify itself.
        auto stored = m_records.add(*info.value().signed_peer_record, peer);
        if (!stored && stored.error() != Errc::stale_record)
            net_log().debug("peer record rejected error={} peer={}", stored.error().message(),
                            peer.to_base58());
    }
    net_log().debug("identified agent={} protocols={} peer={}", info.value().agent_version,
                    info.value().protocols.size(), peer.to_base58());
    if (m_on_identify) m_on_identify(connection, info.value());
    co_return info;
}

asio::awaitable<Result<std::vector<Host::Clock::duration>>> Host::ping(
    std::shared_ptr<Connection> connection, std::size_t count) {
    const crypto::PeerId peer = connection->remote_peer();
    auto fail = [&](std::error_code reason) -> Result<std::vector<Clock::duration>> {
        net_log().log(closed_meanwhile(reason) ? spdlog::level::debug : spdlog::level::warn,
                      "ping failed phase=ping error={} peer={}", reason.message(),
                      peer.to_base58());
        return reason;
    };
    auto stream = co_await connection->open_stream(std::string(kPingProtocol));
    if (!stream) co_return fail(stream.error());
    PingClient client;
    std::vector<Clock::duration> rtts;
    std::array<std::uint8_t, kPingPayloadSize> buffer{};
    for (std::size_t i = 0; i < count; ++i) {
        stream.value()->set_deadline(Clock::now() + m_options.ping_timeout);
        auto payload = client.start();
        if (!payload) co_return fail(payload.error());
        const auto start = Clock::now();
        auto written = co_await stream.value()->write(payload.value());
        if (!written) co_return fail(written.error());
        for (bool done = false; !done;) {
            auto n = co_await stream.value()->read_some(buffer);
            if (!n) co_return fail(n.error());
            if (n.value() == 0) co_return fail(Errc::truncated_message);
            auto echoed = client.on_data(ByteSpan(buffer).first(n.value()));
            if (!echoed) co_return fail(echoed.error());
            done = echoed.value();
        }
        rtts.push_back(Clock::now() - start);
    }
    stream.value()->set_deadline(Clock::time_point::max());
    stream.value()->close_write();
    co_return rtts;
}

asio::awaitable<Result<std::shared_ptr<Stream>>> Host::open_stream(const crypto::PeerId& peer,
                                                                   std::string protocol) {
    auto connection = connection_to(peer);
    if (!connection) co_return HostErrc::no_connection;
    co_return co_await connection->open_stream(std::move(protocol));
}

void Host::seal_own_record() {
    // Unix milliseconds keep seq increasing across restarts without persisting it (RFC 0003).
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    m_record_seq = std::max(m_record_seq + 1, static_cast<std::uint64_t>(now.count()));
    auto sealed = seal_peer_record(PeerRecord{m_peer_id, m_record_seq, m_advertised}, m_identity);
    if (sealed) m_signed_record = std::move(sealed).value();
}

void Host::record_dial_failure(const std::string& key) {
    Backoff& backoff = m_backoff[key];
    backoff.delay = backoff.delay == Clock::duration{}
                        ? m_options.initial_backoff
                        : std::min(backoff.delay * 2, m_options.max_backoff);
    backoff.until = m_options.clock() + backoff.delay;
}

bool Host::bind_to_listen_port(tcp::socket& socket, const tcp::endpoint& to) {
    boost::system::error_code ec;
    for (const auto& acceptor : m_acceptors) {
        const tcp::endpoint local = acceptor->local_endpoint(ec);
        if (ec || local.protocol() != to.protocol()) continue;
        // A listener on one address can only dial out where that address routes to.
        if (!local.address().is_unspecified() &&
            local.address().is_loopback() != to.address().is_loopback())
            continue;
        socket.open(to.protocol(), ec);
        if (!ec) socket.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) set_reuse_port(socket, ec);
        if (!ec) socket.bind(local, ec);
        if (!ec) return true;
        boost::system::error_code ignored;
        socket.close(ignored);
        return false;
    }
    return false;
}

asio::awaitable<Result<std::vector<tcp::endpoint>>> Host::resolve(const TcpEndpoint& endpoint) {
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(endpoint.host, ec);
    if (!ec) {
        endpoints.emplace_back(ip, endpoint.port);
        co_return endpoints;
    }
    tcp::resolver resolver(m_executor);
    auto results = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::error_code(ec);
    for (const auto& entry : results) {
        const bool v4 = entry.endpoint().address().is_v4();
        if ((endpoint.host_protocol == Protocol::dns4 && !v4) ||
            (endpoint.host_protocol == Protocol::dns6 && v4))
            continue;
        endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty())
        co_return std::error_code(boost::system::error_code(asio::error::host_not_found));
    co_return endpoints;
}

asio::awaitable<Result<tcp::socket>> Host::connect(const TcpEndpoint& endpoint,
                                                   Clock::duration timeout, bool from_listen_port) {
    auto resolved = co_await resolve(endpoint);
    if (!resolved) co_return resolved.error();
    const std::vector<tcp::endpoint> endpoints = std::move(resolved).value();
    boost::system::error_code ec;

    tcp::socket socket(m_executor);
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer deadline(m_executor, timeout);
    deadline.async_wait([&socket, timed_out](const boost::system::error_code& wait_ec) {
        if (wait_ec) return;
        *timed_out = true;
        boost::system::error_code ignored;
        socket.close(ignored);
    });
    for (const auto& candidate : endpoints) {
        if (*timed_out) break;
        socket.close(ec);
        const bool bound = from_listen_port && m_options.dial_from_listen_port &&
                           bind_to_listen_port(socket, candidate);
        co_await socket.async_connect(candidate, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) break;
        if (bound && !*timed_out &&
            (ec == boost::system::errc::address_not_available ||
             ec == boost::system::errc::address_in_use)) {
            // That 4-tuple is taken (connected already, or in TIME_WAIT): any port will do.
            socket.close(ec);
            co_await socket.async_connect(candidate, asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) break;
        }
    }
    deadline.cancel();
    if (*timed_out) co_return Errc::timeout;
    if (ec) co_return std::error_code(ec);
    tune_socket(socket,
                std::chrono::duration_cast<std::chrono::milliseconds>(m_options.dead_peer_timeout));
    co_return std::move(socket);
}

Host::PendingDial::PendingDial(const asio::any_io_executor& executor) : done(executor) {
    done.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<Result<std::shared_ptr<Connection>>> Host::dial(Multiaddr addr) {
    auto alive = m_alive;
    const std::optional<crypto::PeerId> expected = addr.peer_id();
    if (!expected || m_stopped || *expected == m_peer_id)
        co_return co_await dial_new(std::move(addr), expected);
    // A relayed connection does not stand in for a direct address: dialing one replaces it.
    if (auto existing = connection_to(*expected);
        existing && (!existing->relayed() || relay::is_circuit_addr(addr)))
        co_return existing;
    if (auto it = m_pending_dials.find(*expected); it != m_pending_dials.end()) {
        // Another dial to this peer is under way: share its outcome.
        auto pending = it->second;
        while (!pending->result) {
            boost::system::error_code ignored;
            co_await pending->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        if (!*alive) co_return HostErrc::host_stopped;
        if (auto existing = connection_to(*expected)) co_return existing;
        co_return *pending->result;
    }
    auto pending = std::make_shared<PendingDial>(m_executor);
    m_pending_dials.emplace(*expected, pending);
    auto result = co_await dial_new(std::move(addr), expected);
    pending->result = result;
    pending->done.cancel();
    if (*alive) m_pending_dials.erase(*expected);
    co_return result;
}

asio::awaitable<Result<std::shared_ptr<Connection>>> Host::dial_new(
    Multiaddr addr, std::optional<crypto::PeerId> expected) {
    auto alive = m_alive;
    auto fail = [&](std::error_code reason) -> Result<std::shared_ptr<Connection>> {
        // At debug: the caller says what a failure means (the joiner for bootstrap peers), and
        // the DHT dials peer-supplied addresses that often fail.
        net_log().debug("dial failed phase=dial error={} addr={} peer={}", reason.message(),
                        addr.to_string(), peer_text(expected));
        return reason;
    };
    if (m_stopped) co_return fail(HostErrc::host_stopped);
    if (expected && *expected == m_peer_id) co_return fail(HostErrc::dial_self);
    if (relay::is_circuit_addr(addr)) {
        if (!m_circuit_dialer) co_return fail(HostErrc::unsupported_address);
        co_return co_await m_circuit_dialer(std::move(addr));
    }
    const auto endpoint = addr.tcp_endpoint();
    if (!endpoint) co_return fail(HostErrc::unsupported_address);
    const std::string key = addr.to_string();
    if (auto it = m_backoff.find(key);
        it != m_backoff.end() && m_options.clock() < it->second.until)
        co_return fail(Errc::dial_backoff);
    const auto outbound = static_cast<std::size_t>(std::count_if(
        m_connections.begin(), m_connections.end(), [](const auto& c) { return c->outbound(); }));
    if (outbound >= m_options.max_outbound) {
        ++m_stats.refused_outbound_limit;
        co_return fail(Errc::connection_limit);
    }

    auto socket = co_await connect(*endpoint, m_options.dial_timeout, true);
    if (!*alive) co_return HostErrc::host_stopped;
    if (!socket) {
        record_dial_failure(key);
        co_return fail(socket.error());
    }
    auto connection = std::make_shared<Connection>(
        std::move(socket).value(), true, addr.without_peer_id(), expected, m_options.connection);
    m_connections.push_back(connection);
    auto upgraded =
        co_await connection->run_upgrade(m_noise_identity, stream_handler(), closed_handler());
    if (!*alive) co_return HostErrc::host_stopped;
    if (!upgraded) {
        // The connection logged its failure with the phase.
        record_dial_failure(key);
        co_return upgraded.error();
    }
    m_backoff.erase(key);
    co_return adopt(connection);
}

asio::awaitable<Result<void>> Host::probe_dial(Multiaddr addr, Clock::duration timeout) {
    auto alive = m_alive;
    const std::optional<crypto::PeerId> expected = addr.peer_id();
    const auto endpoint = addr.tcp_endpoint();
    if (m_stopped) co_return HostErrc::host_stopped;
    if (!expected) co_return HostErrc::missing_peer_id;
    if (!endpoint ||
        (endpoint->host_protocol != Protocol::ip4 && endpoint->host_protocol != Protocol::ip6))
        co_return HostErrc::unsupported_address;
    if (!m_probe_identity)
        m_probe_identity = std::make_shared<NoiseIdentity>(crypto::PrivateKey::generate());
    const auto started = Clock::now();
    auto socket = co_await connect(*endpoint, timeout, false);
    if (!*alive) co_return HostErrc::host_stopped;
    if (!socket) co_return socket.error();
    ConnectionOptions options = m_options.connection;
    options.handshake_timeout =
        std::max(Clock::duration(std::chrono::milliseconds(1)), timeout - (Clock::now() - started));
    auto probe = std::make_shared<Connection>(std::move(socket).value(), true,
                                              addr.without_peer_id(), expected, options);
    auto upgraded = co_await probe->run_upgrade(
        m_probe_identity, [](std::shared_ptr<Stream> stream) { stream->reset(); },
        [](Connection&) {});
    if (!upgraded) co_return upgraded.error();
    probe->close();
    co_return success();
}

asio::awaitable<Result<std::shared_ptr<Connection>>> Host::upgrade_relayed(
    std::shared_ptr<Stream> stream, bool outbound, Multiaddr remote_addr,
    std::optional<crypto::PeerId> expected) {
    auto alive = m_alive;
    if (m_stopped) co_return HostErrc::host_stopped;
    auto transport = std::make_shared<detail::RelayedByteStream>(m_executor, std::move(stream));
    auto connection =
        std::make_shared<Connection>(std::move(transport), outbound, std::move(remote_addr),
                                     std::move(expected), m_options.connection);
    m_connections.push_back(connection);
    auto upgraded =
        co_await connection->run_upgrade(m_noise_identity, stream_handler(), closed_handler());
    if (!*alive) co_return HostErrc::host_stopped;
    if (!upgraded) co_return upgraded.error();  // logged by the connection, with the phase
    adopt(connection);
    co_return connection;
}

Host::PendingPunch::PendingPunch(const asio::any_io_executor& executor, crypto::PeerId peer_,
                                 std::vector<std::string> ips_, bool initiator_,
                                 Clock::time_point deadline)
    : peer(std::move(peer_)), ips(std::move(ips_)), initiator(initiator_), done(executor) {
    done.expires_at(deadline);
}

std::shared_ptr<Host::PendingPunch> Host::punch_from(const std::string& ip) const {
    for (const auto& punch : m_punches) {
        if (std::find(punch->ips.begin(), punch->ips.end(), ip) != punch->ips.end()) return punch;
    }
    return nullptr;
}

void Host::settle_punches(const std::shared_ptr<Connection>& connection) {
    if (connection->relayed() || !connection->usable()) return;
    for (const auto& punch : m_punches) {
        if (punch->result || punch->peer != connection->remote_peer()) continue;
        punch->result = connection;
        punch->done.cancel();
    }
}

asio::awaitable<Result<std::shared_ptr<Connection>>> Host::punch(crypto::PeerId peer,
                                                                 std::vector<Multiaddr> addrs,
                                                                 bool initiator,
                                                                 Clock::duration timeout,
                                                                 Clock::duration dial_after) {
    auto alive = m_alive;
    if (m_stopped) co_return HostErrc::host_stopped;
    if (peer == m_peer_id) co_return HostErrc::dial_self;
    std::vector<std::string> ips;
    std::vector<Multiaddr> targets;
    auto add_ip = [&ips](std::string ip) {
        if (std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
    };
    for (const Multiaddr& addr : addrs) {
        const auto endpoint = addr.tcp_endpoint();
        if (relay::is_circuit_addr(addr) || !endpoint) continue;
        targets.push_back(addr.without_peer_id());
        // For a DNS name, the peer's sockets come from what it resolves to.
        auto resolved = co_await resolve(*endpoint);
        if (!*alive) co_return HostErrc::host_stopped;
        if (!resolved) continue;
        for (const auto& e : resolved.value()) add_ip(e.address().to_string());
    }
    if (targets.empty() || ips.empty()) co_return HostErrc::unsupported_address;
    const Clock::time_point deadline = Clock::now() + timeout;
    auto punch =
        std::make_shared<PendingPunch>(m_executor, peer, std::move(ips), initiator, deadline);
    m_punches.push_back(punch);
    boost::system::error_code ignored;
    if (dial_after > Clock::duration::zero()) {
        asio::steady_timer wait(m_executor, dial_after);
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (*alive && !m_stopped && !punch->result) {
        net_log().debug("hole punch dialing {} address(es) role={} peer={}", targets.size(),
                        initiator ? "client" : "server", peer.to_base58());
        for (Multiaddr& target : targets)
            asio::co_spawn(m_executor, punch_dial(punch, std::move(target), deadline),
                           LogException{"punch dial"});
        co_await punch->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (!*alive) co_return HostErrc::host_stopped;
    std::erase(m_punches, punch);
    if (punch->result && punch->result->usable()) co_return punch->result;
    co_return Errc::timeout;
}

asio::awaitable<void> Host::punch_dial(std::shared_ptr<PendingPunch> punch, Multiaddr addr,
                                       Clock::time_point deadline) {
    auto alive = m_alive;
    const auto endpoint = addr.tcp_endpoint();
    if (!endpoint) co_return;
    auto socket = co_await connect(*endpoint, deadline - Clock::now(), true);
    if (!*alive || m_stopped) co_return;
    if (!socket) {
        net_log().debug("hole punch dial failed error={} addr={} peer={}", socket.error().message(),
                        addr.to_string(), punch->peer.to_base58());
        co_return;
    }
    if (punch->result) co_return;  // another socket won meanwhile; this one just closes
    auto connection = std::make_shared<Connection>(std::move(socket).value(), true, std::move(addr),
                                                   punch->expected(), m_options.connection);
    connection->set_initiator(punch->initiator);
    m_connections.push_back(connection);
    auto upgraded =
        co_await connection->run_upgrade(m_noise_identity, stream_handler(), closed_handler());
    if (!*alive || !upgraded) co_return;
    if (connection->remote_peer() != punch->peer) {
        // As the server of the upgrade nothing checked whom we reached: not the peer we punched.
        connection->stop(Errc::peer_id_mismatch, Phase::noise_handshake);
        co_return;
    }
    adopt(connection);
}

}  // namespace swarmd::net
