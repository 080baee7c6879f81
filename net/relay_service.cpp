#include "net/relay_service.hpp"

// GCC 12 flags the recycling allocator of Asio 1.18 coroutine frames as a mismatched new/delete
// once these coroutines are inlined; it is a false positive (same allocator on both sides).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/connection.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/log.hpp"
#include "net/spawn.hpp"
#include "net/stream.hpp"

namespace swarmd::net {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

asio::awaitable<void> wait(asio::steady_timer& timer) {
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::string ip_of(const Connection& connection) {
    auto endpoint = connection.remote_addr().tcp_endpoint();
    return endpoint ? endpoint->host : std::string();
}

asio::awaitable<Result<void>> send_hop(Stream& stream, const relay::HopMessage& message,
                                       const relay::Limits& limits) {
    auto body = relay::encode_hop(message, limits);
    if (!body) co_return body.error();
    co_return co_await stream.write_length_prefixed(body.value());
}

asio::awaitable<Result<void>> send_stop(Stream& stream, const relay::StopMessage& message,
                                        const relay::Limits& limits) {
    auto body = relay::encode_stop(message, limits);
    if (!body) co_return body.error();
    co_return co_await stream.write_length_prefixed(body.value());
}

// One message: the bytes after it belong to the relayed connection.
asio::awaitable<Result<relay::HopMessage>> receive_hop(Stream& stream,
                                                       const relay::Limits& limits) {
    auto body = co_await stream.read_length_prefixed(limits.max_message_size);
    if (!body) co_return body.error();
    co_return relay::decode_hop(body.value(), limits);
}

asio::awaitable<Result<relay::StopMessage>> receive_stop(Stream& stream,
                                                         const relay::Limits& limits) {
    auto body = co_await stream.read_length_prefixed(limits.max_message_size);
    if (!body) co_return body.error();
    co_return relay::decode_stop(body.value(), limits);
}

bool is_decode_error(std::error_code reason) {
    return reason.category() == relay::relay_category();
}

// Copies `from` to `to` for one direction of a circuit, within the circuit's data budget. Either
// side failing (a reset, the duration deadline) resets the other; the end of `from` closes `to`.
asio::awaitable<void> pipe(std::shared_ptr<Stream> from, std::shared_ptr<Stream> to,
                           relay::RelayServer& server, std::uint64_t circuit,
                           relay::RelayServer::Direction direction, std::size_t chunk,
                           std::shared_ptr<bool> alive) {
    Bytes buffer(chunk);
    for (;;) {
        auto n = co_await from->read_some(buffer);
        if (!*alive) co_return;
        if (!n) {
            to->reset();
            co_return;
        }
        if (n.value() == 0) {
            to->close_write();
            co_return;
        }
        const std::size_t allowed = server.admit(circuit, direction, n.value());
        if (allowed > 0) {
            auto written = co_await to->write(ByteSpan(buffer).first(allowed));
            if (!*alive) co_return;
            if (!written) {
                from->reset();
                co_return;
            }
        }
        if (allowed < n.value()) {
            net_log().debug("relayed connection cut: data limit reached src={} dst={}",
                            from->remote_peer().to_base58(), to->remote_peer().to_base58());
            from->reset();
            to->reset();
            co_return;
        }
    }
}

}  // namespace

RelayService::RelayService(asio::any_io_executor executor, Host& host, crypto::PrivateKey identity,
                           RelayServiceOptions options)
    : m_host(host),
      m_executor(std::move(executor)),
      m_options(std::move(options)),
      m_server(std::move(identity), m_options.server),
      m_alive(std::make_shared<bool>(true)) {}

RelayService::~RelayService() { *m_alive = false; }

void RelayService::start() {
    m_host.set_handler(
        std::string(relay::kStopProtocol),
        [weak = weak_from_this()](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
            auto self = weak.lock();
            if (!self) {
                stream->reset();
                co_return;
            }
            co_await self->serve_stop(std::move(stream));
        });
    m_host.set_circuit_dialer([weak = weak_from_this()](Multiaddr addr)
                                  -> asio::awaitable<Result<std::shared_ptr<Connection>>> {
        auto self = weak.lock();
        if (!self) co_return HostErrc::unsupported_address;
        co_return co_await self->dial(std::move(addr));
    });
}

void RelayService::enable_server() {
    if (m_serving) return;
    m_serving = true;
    m_host.set_handler(
        std::string(relay::kHopProtocol),
        [weak = weak_from_this()](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
            auto self = weak.lock();
            if (!self) {
                stream->reset();
                co_return;
            }
            co_await self->serve_hop(std::move(stream));
        });
}

void RelayService::stop() {
    m_stopped = true;
    for (auto& [relay, held] : m_reservations) held.renewal->cancel();
    m_reservations.clear();
}

std::vector<Multiaddr> RelayService::relay_addrs() const {
    if (m_options.advertised_addrs) return m_options.advertised_addrs();
    return m_host.listen_addrs();
}

// ---- server -----------------------------------------------------------------------------------

asio::awaitable<void> RelayService::serve_hop(std::shared_ptr<Stream> stream) {
    auto self = shared_from_this();
    const crypto::PeerId peer = stream->remote_peer();
    stream->set_deadline(SteadyClock::now() + m_options.request_timeout);
    auto request = co_await receive_hop(*stream, m_options.limits);
    if (m_stopped) co_return;
    if (!request) {
        net_log().debug("relay hop request refused: {} peer={}", request.error().message(),
                        peer.to_base58());
        // A message that arrived but does not decode is answered; a broken stream is not.
        if (is_decode_error(request.error())) {
            co_await send_hop(*stream, relay::hop_status(relay::Status::malformed_message),
                              m_options.limits);
        } else {
            stream->reset();
        }
        co_return;
    }
    auto connection = stream->connection();
    if (!connection) co_return;
    const relay::Requester from{peer, ip_of(*connection), connection->relayed()};
    auto action = m_server.handle_hop(from, request.value(), relay_addrs(), now());
    if (action.answer) {
        const relay::Status status = action.answer->status.value_or(relay::Status::unused);
        if (request.value().type == relay::HopMessage::Type::reserve) {
            net_log().log(status == relay::Status::ok ? spdlog::level::info : spdlog::level::debug,
                          "relay reservation {} reservations={} peer={}",
                          relay::status_name(status), m_server.reservations(), peer.to_base58());
        } else {
            net_log().debug("relay hop {} peer={}", relay::status_name(status), peer.to_base58());
        }
        co_await send_hop(*stream, *action.answer, m_options.limits);
        co_return;
    }
    co_await connect_circuit(std::move(stream), *action.circuit);
}

asio::awaitable<void> RelayService::refuse_circuit(Stream& source, std::uint64_t circuit,
                                                   relay::Status status) {
    if (const auto* refused = m_server.circuit(circuit)) {
        net_log().debug("relay connect {} src={} dst={}", relay::status_name(status),
                        refused->source.to_base58(), refused->target.to_base58());
    }
    m_server.close_circuit(circuit);
    co_await send_hop(source, relay::hop_status(status), m_options.limits);
}

asio::awaitable<void> RelayService::connect_circuit(std::shared_ptr<Stream> source,
                                                    std::uint64_t circuit) {
    auto alive = m_alive;
    const relay::RelayServer::Circuit* admitted = m_server.circuit(circuit);
    const crypto::PeerId src = admitted->source;
    const crypto::PeerId dst = admitted->target;
    const relay::Limit limit = m_server.options().circuit_limit;
    auto target = m_host.connection_to(dst);
    if (!target || target->relayed()) {
        co_await refuse_circuit(*source, circuit, relay::Status::connection_failed);
        co_return;
    }
    auto opened = co_await target->open_stream(std::string(relay::kStopProtocol));
    if (!*alive) co_return;
    if (!opened) {
        co_await refuse_circuit(*source, circuit, relay::Status::connection_failed);
        co_return;
    }
    std::shared_ptr<Stream> stop = opened.value();
    stop->set_deadline(SteadyClock::now() + m_options.request_timeout);
    relay::StopMessage connect;
    connect.type = relay::StopMessage::Type::connect;
    connect.peer = relay::PeerInfo{src, {}};
    connect.limit = limit;
    auto sent = co_await send_stop(*stop, connect, m_options.limits);
    if (!*alive) co_return;
    Result<relay::StopMessage> reply = relay::Errc::unexpected_message;
    if (sent) reply = co_await receive_stop(*stop, m_options.limits);
    if (!*alive) co_return;
    if (!reply || reply.value().type != relay::StopMessage::Type::status ||
        reply.value().status != relay::Status::ok) {
        stop->reset();
        co_await refuse_circuit(*source, circuit, relay::Status::connection_failed);
        co_return;
    }
    relay::HopMessage ok = relay::hop_status(relay::Status::ok);
    ok.limit = limit;
    auto answered = co_await send_hop(*source, ok, m_options.limits);
    if (!*alive) co_return;
    if (!answered) {
        stop->reset();
        m_server.close_circuit(circuit);
        co_return;
    }
    net_log().debug("relayed connection open circuits={} src={} dst={}", m_server.circuits(),
                    src.to_base58(), dst.to_base58());

    // The duration limit: both streams are reset at the deadline, which ends both pipes.
    const auto deadline = limit.duration == 0
                              ? SteadyClock::time_point::max()
                              : SteadyClock::now() + std::chrono::seconds(limit.duration);
    source->set_deadline(deadline);
    stop->set_deadline(deadline);
    struct Done {
        explicit Done(const asio::any_io_executor& executor) : wake(executor) {
            wake.expires_at(SteadyClock::time_point::max());
        }
        bool done = false;
        asio::steady_timer wake;
    };
    auto back = std::make_shared<Done>(m_executor);
    asio::co_spawn(
        m_executor,
        [](std::shared_ptr<Stream> from, std::shared_ptr<Stream> to, relay::RelayServer& server,
           std::uint64_t id, std::size_t chunk, std::shared_ptr<bool> alive,
           std::shared_ptr<Done> done) -> asio::awaitable<void> {
            co_await pipe(from, to, server, id, relay::RelayServer::Direction::to_source, chunk,
                          alive);
            done->done = true;
            done->wake.cancel();
        }(stop, source, m_server, circuit, m_options.pipe_chunk, m_alive, back),
        LogException{"relay pipe"});
    co_await pipe(source, stop, m_server, circuit, relay::RelayServer::Direction::to_target,
                  m_options.pipe_chunk, m_alive);
    while (!back->done) co_await wait(back->wake);
    if (!*alive) co_return;
    m_server.close_circuit(circuit);
    net_log().debug("relayed connection closed src={} dst={}", src.to_base58(), dst.to_base58());
}

// ---- client -----------------------------------------------------------------------------------

asio::awaitable<void> RelayService::serve_stop(std::shared_ptr<Stream> stream) {
    auto self = shared_from_this();
    const crypto::PeerId relay = stream->remote_peer();
    stream->set_deadline(SteadyClock::now() + m_options.request_timeout);
    auto request = co_await receive_stop(*stream, m_options.limits);
    if (m_stopped) co_return;
    if (!request) {
        net_log().debug("relay stop request refused: {} peer={}", request.error().message(),
                        relay.to_base58());
        if (is_decode_error(request.error())) {
            co_await send_stop(*stream, relay::stop_status(relay::Status::malformed_message),
                               m_options.limits);
        } else {
            stream->reset();
        }
        co_return;
    }
    if (request.value().type != relay::StopMessage::Type::connect) {
        co_await send_stop(*stream, relay::stop_status(relay::Status::unexpected_message),
                           m_options.limits);
        co_return;
    }
    // Only relays we asked to relay for us may hand us connections.
    auto relay_connection = stream->connection();
    if (!has_reservation(relay) || !relay_connection || relay_connection->relayed()) {
        co_await send_stop(*stream, relay::stop_status(relay::Status::permission_denied),
                           m_options.limits);
        co_return;
    }
    const crypto::PeerId source = request.value().peer->id;
    auto accepted =
        co_await send_stop(*stream, relay::stop_status(relay::Status::ok), m_options.limits);
    if (!accepted || m_stopped) co_return;
    stream->set_deadline(SteadyClock::time_point::max());
    static const Multiaddr kCircuit = Multiaddr::parse("/p2p-circuit").value();
    const Multiaddr remote =
        relay_connection->remote_addr().with_peer_id(relay).encapsulate(kCircuit).with_peer_id(
            source);
    auto connection = co_await m_host.upgrade_relayed(stream, false, remote, std::nullopt);
    if (!connection) co_return;
    if (connection.value()->remote_peer() != source) {
        // The relay named one peer and another one authenticated.
        connection.value()->stop(Errc::peer_id_mismatch, Phase::noise_handshake);
        co_return;
    }
    net_log().debug("relayed connection accepted via={} peer={}", relay.to_base58(),
                    source.to_base58());
    // The host releases a stream when its handler returns: this one carries the connection, so
    // the handler lasts as long as the connection.
    co_await connection.value()->closed();
}

asio::awaitable<Result<relay::Granted>> RelayService::reserve_once(const Multiaddr& relay_addr,
                                                                   const crypto::PeerId& relay) {
    auto self = shared_from_this();
    auto connection = co_await m_host.dial(relay_addr);
    if (!connection) co_return connection.error();
    if (connection.value()->relayed()) co_return relay::Errc::over_relayed_connection;
    auto stream = co_await connection.value()->open_stream(std::string(relay::kHopProtocol));
    if (!stream) co_return stream.error();
    stream.value()->set_deadline(SteadyClock::now() + m_options.request_timeout);
    relay::HopMessage request;
    request.type = relay::HopMessage::Type::reserve;
    auto sent = co_await send_hop(*stream.value(), request, m_options.limits);
    if (!sent) co_return sent.error();
    auto answer = co_await receive_hop(*stream.value(), m_options.limits);
    if (!answer) co_return answer.error();
    stream.value()->close_write();
    co_return relay::check_reservation(answer.value(), relay, m_host.peer_id(), now());
}

asio::awaitable<Result<relay::Granted>> RelayService::reserve(Multiaddr relay_addr) {
    auto self = shared_from_this();
    const auto relay = relay_addr.peer_id();
    if (!relay) co_return HostErrc::missing_peer_id;
    auto granted = co_await reserve_once(relay_addr, *relay);
    if (!granted) {
        net_log().warn("relay reservation failed error={} peer={}", granted.error().message(),
                       relay->to_base58());
        co_return granted.error();
    }
    if (m_stopped) co_return HostErrc::host_stopped;
    Held& held = m_reservations[*relay];
    held.relay_addr = relay_addr;
    held.granted = granted.value();
    held.renew_at = relay::renewal_time(granted.value().reservation, now());
    net_log().info("relay reservation held expire={} addrs={} peer={}",
                   granted.value().reservation.expire, granted.value().reservation.addrs.size(),
                   relay->to_base58());
    if (!held.renewal) {
        held.renewal = std::make_shared<asio::steady_timer>(m_executor);
        asio::co_spawn(m_executor, renew_loop(*relay, held.renewal), LogException{"relay renewal"});
    } else {
        held.renewal->cancel();  // the loop sleeps until the new renewal time
    }
    co_return granted;
}

asio::awaitable<void> RelayService::renew_loop(crypto::PeerId relay,
                                               std::shared_ptr<asio::steady_timer> timer) {
    auto self = shared_from_this();
    for (;;) {
        auto it = m_reservations.find(relay);
        if (m_stopped || it == m_reservations.end() || it->second.renewal != timer) co_return;
        const auto left = it->second.renew_at - now();
        if (left > relay::Time::duration::zero()) {
            timer->expires_after(std::chrono::duration_cast<SteadyClock::duration>(left));
            co_await wait(*timer);
            continue;
        }
        const Multiaddr addr = it->second.relay_addr;
        auto granted = co_await reserve_once(addr, relay);
        it = m_reservations.find(relay);
        if (m_stopped || it == m_reservations.end() || it->second.renewal != timer) co_return;
        if (granted) {
            it->second.granted = granted.value();
            it->second.renew_at = relay::renewal_time(granted.value().reservation, now());
            net_log().debug("relay reservation renewed expire={} peer={}",
                            granted.value().reservation.expire, relay.to_base58());
            continue;
        }
        const relay::Time expire = relay::from_unix_seconds(it->second.granted.reservation.expire);
        if (now() + m_options.retry_interval >= expire) {
            net_log().warn("relay reservation lost error={} peer={}", granted.error().message(),
                           relay.to_base58());
            m_reservations.erase(it);
            co_return;
        }
        net_log().debug("relay reservation renewal failed error={} peer={}",
                        granted.error().message(), relay.to_base58());
        it->second.renew_at = now() + m_options.retry_interval;
    }
}

std::vector<Multiaddr> RelayService::circuit_addrs() const {
    std::vector<Multiaddr> out;
    for (const auto& [relay, held] : m_reservations) {
        for (Multiaddr& addr : relay::circuit_addrs(held.granted.reservation))
            out.push_back(std::move(addr));
    }
    return out;
}

bool RelayService::has_reservation(const crypto::PeerId& relay) const {
    return m_reservations.count(relay) > 0;
}

const relay::Granted* RelayService::reservation(const crypto::PeerId& relay) const {
    auto it = m_reservations.find(relay);
    return it == m_reservations.end() ? nullptr : &it->second.granted;
}

asio::awaitable<Result<std::shared_ptr<Connection>>> RelayService::dial(Multiaddr circuit_addr) {
    auto self = shared_from_this();
    auto parts = relay::parse_circuit_addr(circuit_addr);
    if (!parts) co_return parts.error();
    const crypto::PeerId target = parts.value().target;
    auto fail = [&](std::error_code reason) -> Result<std::shared_ptr<Connection>> {
        // At debug, as the host's direct dials: the caller says what a failure means, and
        // provider records name departed peers' circuits (NO_RESERVATION) all the time.
        net_log().debug("relayed dial failed error={} addr={} peer={}", reason.message(),
                        circuit_addr.to_string(), target.to_base58());
        return reason;
    };
    if (target == m_host.peer_id()) co_return fail(HostErrc::dial_self);
    if (auto existing = m_host.connection_to(target)) co_return existing;
    auto relay_connection = co_await m_host.dial(parts.value().relay_addr);
    if (!relay_connection) co_return fail(relay_connection.error());
    if (relay_connection.value()->relayed()) co_return fail(relay::Errc::over_relayed_connection);
    auto opened = co_await relay_connection.value()->open_stream(std::string(relay::kHopProtocol));
    if (!opened) co_return fail(opened.error());
    std::shared_ptr<Stream> stream = opened.value();
    stream->set_deadline(SteadyClock::now() + m_options.request_timeout);
    relay::HopMessage connect;
    connect.type = relay::HopMessage::Type::connect;
    connect.peer = relay::PeerInfo{target, {}};
    auto sent = co_await send_hop(*stream, connect, m_options.limits);
    if (!sent) co_return fail(sent.error());
    auto answer = co_await receive_hop(*stream, m_options.limits);
    if (!answer) {
        stream->reset();
        co_return fail(answer.error());
    }
    if (answer.value().type != relay::HopMessage::Type::status) {
        stream->reset();
        co_return fail(relay::Errc::unexpected_message);
    }
    if (answer.value().status != relay::Status::ok) {
        stream->reset();
        co_return fail(answer.value().status.value_or(relay::Status::unused));
    }
    stream->set_deadline(SteadyClock::time_point::max());
    auto connection =
        co_await m_host.upgrade_relayed(stream, true, circuit_addr.without_peer_id(), target);
    if (!connection) co_return connection.error();
    if (auto kept = m_host.connection_to(target)) co_return kept;
    co_return connection;
}

void RelayService::on_connection_closed(const std::shared_ptr<Connection>& connection) {
    const crypto::PeerId& peer = connection->remote_peer();
    if (connection->relayed() || m_host.connection_to(peer)) return;
    if (m_server.has_reservation(peer, now())) {
        net_log().debug("relay reservation dropped: peer disconnected peer={}", peer.to_base58());
        m_server.drop_reservation(peer);
    }
    if (auto it = m_reservations.find(peer); it != m_reservations.end()) {
        net_log().info("relay reservation lost: relay disconnected peer={}", peer.to_base58());
        it->second.renewal->cancel();
        m_reservations.erase(it);
    }
}

}  // namespace swarmd::net
