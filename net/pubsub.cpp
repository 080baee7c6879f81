#include "net/pubsub.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/host.hpp"
#include "net/log.hpp"
#include "net/spawn.hpp"
#include "net/stream.hpp"

namespace swarmd::net {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

std::string ip_of(const Connection& connection) {
    auto endpoint = connection.remote_addr().tcp_endpoint();
    return endpoint ? endpoint->host : std::string();
}

}  // namespace

Pubsub::Pubsub(asio::any_io_executor executor, Host& host, crypto::PrivateKey key,
               gossipsub::Options options)
    : m_executor(executor),
      m_host(host),
      m_router(std::move(key), std::move(options)),
      m_heartbeat(executor) {
    m_router.set_peer_record_lookup(
        [&host](const crypto::PeerId& peer) { return host.peer_records().envelope(peer); });
}

gossipsub::Time Pubsub::now() const { return std::chrono::steady_clock::now(); }

void Pubsub::start() {
    for (auto protocol : {gossipsub::kProtocolV11, gossipsub::kProtocolV10}) {
        m_host.set_handler(
            std::string(protocol),
            [weak = weak_from_this()](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
                auto self = weak.lock();
                if (!self || self->m_stopped) co_return;
                co_await self->read_loop(std::move(stream));
            });
    }
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->heartbeat_loop(); },
        LogException{"gossip task"});
}

void Pubsub::stop() {
    m_stopped = true;
    m_heartbeat.cancel();
    for (auto& [peer, link] : m_links) {
        link->closed = true;
        link->wake.cancel();
        if (link->out) link->out->close_write();
    }
    m_links.clear();
}

void Pubsub::peer_identified(const std::shared_ptr<Connection>& connection,
                             const IdentifyInfo& info) {
    std::optional<gossipsub::Protocol> best;
    for (const auto& p : info.protocols) {
        auto parsed = gossipsub::parse_protocol(p);
        if (parsed && (!best || *parsed == gossipsub::Protocol::v11)) best = parsed;
    }
    if (!best) return;
    ensure_peer(connection->remote_peer(), connection->outbound(), *best, ip_of(*connection));
}

void Pubsub::ensure_peer(const crypto::PeerId& peer, bool outbound, gossipsub::Protocol protocol,
                         std::string ip) {
    if (m_stopped || m_links.contains(peer)) return;
    auto link = std::make_shared<Link>(m_executor);
    m_links.emplace(peer, link);
    apply(m_router.add_peer(peer, outbound, protocol, now(), std::move(ip)));
    asio::co_spawn(
        m_executor,
        [self = shared_from_this(), peer, link, protocol] {
            return self->open_outbound(peer, link, protocol);
        },
        LogException{"gossip task"});
}

asio::awaitable<void> Pubsub::open_outbound(crypto::PeerId peer, std::shared_ptr<Link> link,
                                            gossipsub::Protocol protocol) {
    const auto id =
        protocol == gossipsub::Protocol::v11 ? gossipsub::kProtocolV11 : gossipsub::kProtocolV10;
    auto stream = co_await m_host.open_stream(peer, std::string(id));
    if (link->closed) {
        if (stream) stream.value()->reset();
        co_return;
    }
    if (!stream) {
        net_log().debug("gossip stream failed: {} peer={}", stream.error().message(),
                        peer.to_base58());
        peer_closed(peer);
        co_return;
    }
    link->out = stream.value();
    // The writer: sleeps on the link's timer until apply() queues bytes and wakes it.
    while (!link->closed) {
        if (link->queue.empty()) {
            boost::system::error_code ec;
            co_await link->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        Bytes batch = std::move(link->queue);
        link->queue.clear();
        auto written = co_await link->out->write(batch);
        if (link->closed) co_return;
        if (!written) {
            net_log().debug("gossip write failed: {} peer={}", written.error().message(),
                            peer.to_base58());
            peer_closed(peer);
            co_return;
        }
        m_router.on_written(peer, batch.size());
    }
}

asio::awaitable<void> Pubsub::read_loop(std::shared_ptr<Stream> stream) {
    const auto peer = stream->remote_peer();
    if (auto current = m_inbound[peer].lock(); current && current != stream && !current->error()) {
        // One inbound stream per peer, unless the current one runs on a connection that is
        // going away (a relayed one drained for the direct connection a hole punch made): the
        // peer has moved, and its new stream takes over.
        auto on = current->connection();
        if (on && on->usable()) {
            stream->reset();
            co_return;
        }
        current->reset();
        m_router.restart_inbound(peer);
    }
    m_inbound[peer] = stream;
    if (!m_links.contains(peer)) {
        // The remote opened its stream before our identify round finished.
        const auto protocol =
            gossipsub::parse_protocol(stream->protocol()).value_or(gossipsub::Protocol::v11);
        auto connection = m_host.connection_to(peer);
        ensure_peer(peer, connection && connection->outbound(), protocol,
                    connection ? ip_of(*connection) : std::string());
    }
    Bytes buffer(kReadChunk);
    while (!m_stopped) {
        auto n = co_await stream->read_some(buffer);
        if (!n || n.value() == 0) break;
        if (m_inbound[peer].lock() != stream) break;  // replaced meanwhile
        apply(m_router.handle_data(peer, ByteSpan(buffer.data(), n.value()), now()));
    }
    if (auto it = m_inbound.find(peer); it != m_inbound.end() && it->second.lock() == stream) {
        m_inbound.erase(it);
    }
}

asio::awaitable<void> Pubsub::heartbeat_loop() {
    while (!m_stopped) {
        m_heartbeat.expires_after(m_router.options().heartbeat_interval);
        boost::system::error_code ec;
        co_await m_heartbeat.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (m_stopped) break;
        apply(m_router.heartbeat(now()));
    }
}

void Pubsub::peer_closed(const crypto::PeerId& peer) {
    auto it = m_links.find(peer);
    if (it == m_links.end()) return;
    auto link = it->second;
    m_links.erase(it);
    link->closed = true;
    link->wake.cancel();
    if (link->out) link->out->reset();
    apply(m_router.remove_peer(peer, now()));
}

void Pubsub::apply(gossipsub::Actions actions) {
    for (auto& send : actions.sends) {
        auto it = m_links.find(send.peer);
        if (it == m_links.end()) continue;
        append(it->second->queue, send.data);
        it->second->wake.cancel_one();
    }
    for (const auto& delivery : actions.deliveries) {
        auto handler = m_handlers.find(delivery.topic);
        if (handler != m_handlers.end() && handler->second) handler->second(delivery);
    }
    for (const auto& connect : actions.connects) {
        auto record = open_peer_record(connect.signed_peer_record, connect.peer);
        if (m_on_px && record) m_on_px(connect.peer, record.value().addresses);
    }
    for (const auto& drop : actions.disconnects) {
        net_log().info("dropping gossip peer: {} peer={}", drop.reason.message(),
                       drop.peer.to_base58());
        if (auto connection = m_host.connection_to(drop.peer))
            connection->stop(drop.reason, Phase::session);
        peer_closed(drop.peer);
    }
}

void Pubsub::subscribe(const std::string& topic, MessageHandler handler) {
    m_handlers[topic] = std::move(handler);
    apply(m_router.subscribe(topic, now()));
}

void Pubsub::unsubscribe(const std::string& topic) {
    m_handlers.erase(topic);
    apply(m_router.unsubscribe(topic, now()));
}

void Pubsub::set_validator(const std::string& topic, gossipsub::Validator validator) {
    m_router.set_validator(topic, std::move(validator));
}

Result<void> Pubsub::publish(const std::string& topic, ByteSpan data) {
    auto actions = m_router.publish(topic, data, now());
    if (!actions) return actions.error();
    apply(std::move(actions.value()));
    return success();
}

}  // namespace swarmd::net
