#include "net/kad_service.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "crypto/noise_primitives.hpp"
#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/log.hpp"
#include "net/request.hpp"
#include "net/spawn.hpp"
#include "net/stream.hpp"

namespace swarmd::net {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxRefreshedBuckets =
    12;  // finding a key for bucket b costs ~2^(b+1) hashes
constexpr std::size_t kMaxRefreshTries = std::size_t{1} << 16;

}  // namespace

// One iterative lookup in progress: shared by the loop and its query coroutines, which may
// outlive the loop (a query answers after the lookup ended) and then only touch this.
struct KadService::LookupRun {
    LookupRun(const asio::any_io_executor& executor, kad::Lookup l, kad::Message r,
              std::size_t limit)
        : lookup(std::move(l)), request(std::move(r)), wake(executor), provider_limit(limit) {}

    kad::Lookup lookup;
    kad::Message request;
    asio::steady_timer wake;
    bool dirty = false;  // a query finished since the loop last looked
    std::size_t provider_limit;
    std::vector<kad::PeerInfo> providers;
};

KadService::KadService(asio::any_io_executor executor, Host& host, KadServiceOptions options)
    : m_host(host),
      m_executor(std::move(executor)),
      m_options(std::move(options)),
      m_table(host.peer_id(), m_options.routing),
      m_providers(m_options.providers),
      m_timer(m_executor) {}

void KadService::set_server_mode(bool server) {
    m_server = server;
    if (!server || m_handler_registered) return;
    m_handler_registered = true;
    RequestLimits limits;
    limits.max_request = m_options.limits.max_message_size;
    limits.timeout = m_options.request_timeout;
    serve_requests(
        m_host, m_options.protocol, limits,
        [weak = weak_from_this()](Stream& stream, Bytes body) -> asio::awaitable<Answer> {
            auto self = weak.lock();
            if (!self) co_return Answer::refused;
            const bool answered = co_await self->serve(stream, std::move(body));
            co_return answered ? Answer::answered : Answer::refused;
        });
}

asio::awaitable<bool> KadService::serve(Stream& stream, Bytes body) {
    const crypto::PeerId sender = stream.remote_peer();
    if (!m_server || m_stopped) co_return false;
    auto request = kad::decode_message(body, m_options.limits);
    if (!request) {
        net_log().debug("kad request refused: {} peer={}", request.error().message(),
                        sender.to_base58());
        co_return false;
    }
    auto answer =
        kad::handle_request(sender, request.value(), m_table, m_providers, now(), m_options.server);
    if (!answer) {
        net_log().debug("kad request refused: {} peer={}", answer.error().message(),
                        sender.to_base58());
        co_return false;
    }
    if (!answer.value()) co_return true;  // ADD_PROVIDER: stored, nothing to say
    auto encoded = kad::encode_message(*answer.value(), m_options.limits);
    if (!encoded) co_return false;
    const Bytes reply = std::move(encoded).value();
    auto written = co_await stream.write_length_prefixed(reply);
    co_return static_cast<bool>(written);
}

// ---- requests ---------------------------------------------------------------------------------

asio::awaitable<Result<void>> KadService::ensure_connected(const kad::PeerInfo& peer) {
    if (m_host.connection_to(peer.id)) co_return success();
    std::error_code last = kad::Errc::bad_multiaddr;  // no address we can dial
    std::size_t tried = 0;
    for (const Multiaddr& addr : peer.addrs) {
        if (tried == m_options.max_addrs_dialed) break;
        if (!addr.tcp_endpoint()) continue;
        const auto named = addr.peer_id();
        if (named && *named != peer.id) continue;
        Multiaddr target = named ? addr : addr.with_peer_id(peer.id);
        ++tried;
        auto connection = co_await m_host.dial(std::move(target));
        if (connection) co_return success();
        last = connection.error();
    }
    co_return last;
}

asio::awaitable<Result<kad::Message>> KadService::request(kad::PeerInfo peer, kad::Message message,
                                                          bool expect_answer) {
    auto connected = co_await ensure_connected(peer);
    if (!connected) co_return connected.error();
    auto body = kad::encode_message(message, m_options.limits);
    if (!body) co_return body.error();
    const std::string protocol = m_options.protocol;
    Bytes request_body = std::move(body).value();
    auto stream =
        co_await send_request(m_host, peer.id, protocol, request_body, m_options.request_timeout);
    if (!stream) co_return stream.error();
    auto s = std::move(stream).value();
    if (!expect_answer) {
        s->release();
        co_return message;
    }
    auto reply = co_await s->read_length_prefixed(m_options.limits.max_message_size);
    s->release();
    if (!reply) co_return reply.error();
    auto answer = kad::decode_message(reply.value(), m_options.limits);
    if (!answer) co_return answer.error();
    if (!kad::response_matches(message, answer.value())) co_return kad::Errc::unexpected_response;
    co_return std::move(answer).value();
}

// ---- lookups ----------------------------------------------------------------------------------

std::vector<kad::PeerInfo> KadService::seeds(const kad::Key& target) const {
    std::vector<kad::PeerInfo> out;
    for (const auto* e : m_table.closest(target, m_options.lookup.k))
        out.push_back(kad::PeerInfo{e->id, e->addrs, kad::ConnectionType::not_connected});
    return out;
}

asio::awaitable<std::vector<kad::PeerInfo>> KadService::run_lookup(
    kad::Key target, kad::Message request, std::vector<kad::PeerInfo> extra,
    std::size_t provider_limit, std::vector<kad::PeerInfo>* found) {
    std::vector<kad::PeerInfo> start = seeds(target);
    start.insert(start.end(), extra.begin(), extra.end());
    auto run = std::make_shared<LookupRun>(
        m_executor, kad::Lookup(m_host.peer_id(), target, start, m_options.lookup),
        std::move(request), provider_limit);
    std::erase_if(m_runs, [](const auto& weak) { return weak.expired(); });
    m_runs.push_back(run);
    while (!m_stopped && !run->lookup.done()) {
        for (kad::PeerInfo& peer : run->lookup.next(now())) {
            asio::co_spawn(
                m_executor,
                [self = shared_from_this(), run, peer = std::move(peer)]() mutable {
                    return self->query(run, std::move(peer));
                },
                LogException{"kad query"});
        }
        if (run->lookup.done()) break;
        if (!run->dirty) {
            const auto deadline = run->lookup.next_deadline();
            if (!deadline) break;
            run->wake.expires_at(*deadline);
            boost::system::error_code ec;
            co_await run->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        run->dirty = false;
    }
    if (found) *found = run->providers;
    co_return run->lookup.closest();
}

asio::awaitable<void> KadService::query(std::shared_ptr<LookupRun> run, kad::PeerInfo peer) {
    auto answer = co_await request(peer, run->request, true);
    if (m_stopped) co_return;
    if (!answer) {
        net_log().debug("kad query failed: {} peer={}", answer.error().message(),
                        peer.id.to_base58());
        run->lookup.on_failure(peer.id);
        failed_peer(peer.id);
    } else {
        learned_server(peer);
        if (run->provider_limit > 0) {
            for (const kad::PeerInfo& provider : answer.value().provider_peers) {
                if (run->providers.size() == run->provider_limit) break;
                if (provider.id == m_host.peer_id()) continue;
                const bool known =
                    std::any_of(run->providers.begin(), run->providers.end(),
                                [&](const kad::PeerInfo& p) { return p.id == provider.id; });
                if (!known) run->providers.push_back(provider);
            }
            if (run->providers.size() == run->provider_limit) run->lookup.finish();
        }
        run->lookup.on_response(peer.id, answer.value().closer_peers, now());
    }
    run->dirty = true;
    run->wake.cancel();
}

asio::awaitable<std::size_t> KadService::bootstrap(std::vector<Multiaddr> peers) {
    std::vector<kad::PeerInfo> extra;
    for (const Multiaddr& addr : peers) {
        auto id = addr.peer_id();
        if (!id) {
            net_log().warn("kad bootstrap address without /p2p/ id skipped: {}", addr.to_string());
            continue;
        }
        extra.push_back(kad::PeerInfo{*id, {addr.without_peer_id()}, {}});
    }
    kad::Message request;
    request.type = kad::MessageType::find_node;
    request.key = m_host.peer_id().bytes();
    const kad::Key target = kad::Key::from_peer(m_host.peer_id());
    co_await run_lookup(target, std::move(request), std::move(extra), 0, nullptr);
    co_return m_table.size();
}

asio::awaitable<std::vector<kad::PeerInfo>> KadService::find_node(Bytes key) {
    kad::Message request;
    request.type = kad::MessageType::find_node;
    request.key = std::move(key);
    const kad::Key target = kad::Key::from_bytes(request.key);
    std::vector<kad::PeerInfo> none;
    auto closest = co_await run_lookup(target, std::move(request), std::move(none), 0, nullptr);
    co_return closest;
}

asio::awaitable<std::vector<kad::PeerInfo>> KadService::find_providers(Bytes key,
                                                                       std::size_t limit) {
    std::vector<kad::PeerInfo> found;
    if (limit == 0) co_return found;
    for (kad::PeerInfo& local : m_providers.get(key, now(), limit)) {
        if (local.id != m_host.peer_id()) found.push_back(std::move(local));
    }
    if (found.size() >= limit) co_return found;
    kad::Message request;
    request.type = kad::MessageType::get_providers;
    request.key = std::move(key);
    const kad::Key target = kad::Key::from_bytes(request.key);
    std::vector<kad::PeerInfo> remote;
    std::vector<kad::PeerInfo> none;
    co_await run_lookup(target, std::move(request), std::move(none), limit, &remote);
    for (kad::PeerInfo& p : remote) {
        if (found.size() == limit) break;
        const bool known = std::any_of(found.begin(), found.end(),
                                       [&](const kad::PeerInfo& f) { return f.id == p.id; });
        if (!known) found.push_back(std::move(p));
    }
    co_return found;
}

kad::PeerInfo KadService::self_info() const {
    kad::PeerInfo me;
    me.id = m_host.peer_id();
    const auto addrs =
        m_options.advertised_addrs ? m_options.advertised_addrs() : m_host.listen_addrs();
    for (const Multiaddr& a : addrs) {
        if (me.addrs.size() == m_options.limits.max_addrs_per_peer) break;
        me.addrs.push_back(a.without_peer_id());
    }
    return me;
}

asio::awaitable<Result<std::size_t>> KadService::provide(Bytes key) {
    if (key.empty()) co_return kad::Errc::missing_key;
    if (key.size() > m_options.limits.max_key_size) co_return kad::Errc::key_too_long;
    m_provided.insert(key);
    if (m_server) (void)m_providers.add(key, self_info(), now());
    Bytes lookup_key = key;
    const auto closest = co_await find_node(std::move(lookup_key));
    if (closest.empty()) co_return kad::Errc::no_peers;

    // ADD_PROVIDER to each, all at once (at most k), counted as they finish.
    struct Pending {
        explicit Pending(const asio::any_io_executor& e) : done(e) {}
        asio::steady_timer done;
        std::size_t remaining = 0;
        std::size_t accepted = 0;
    };
    auto pending = std::make_shared<Pending>(m_executor);
    kad::Message message;
    message.type = kad::MessageType::add_provider;
    message.key = key;
    message.provider_peers = {self_info()};
    pending->remaining = closest.size();
    for (const kad::PeerInfo& peer : closest) {
        asio::co_spawn(
            m_executor,
            [self = shared_from_this(), pending, peer, message]() -> asio::awaitable<void> {
                auto sent = co_await self->request(peer, message, false);
                if (sent) ++pending->accepted;
                if (--pending->remaining == 0) pending->done.cancel();
            },
            LogException{"kad provide"});
    }
    while (pending->remaining > 0 && !m_stopped) {
        pending->done.expires_after(m_options.request_timeout * 2);
        boost::system::error_code ec;
        co_await pending->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) break;  // the deadline passed: report what got through
    }
    net_log().debug("kad provided {} to {} of {} peers", kad::key_cid(key), pending->accepted,
                    closest.size());
    co_return pending->accepted;
}

void KadService::stop_providing(const Bytes& key) { m_provided.erase(key); }

// ---- routing table upkeep ---------------------------------------------------------------------

void KadService::learned_server(const kad::PeerInfo& peer) {
    if (m_stopped) return;
    const auto result = m_table.add(peer, now());
    if (result.outcome != kad::RoutingTable::Outcome::pending || !result.oldest) return;
    if (!m_pinging.insert(*result.oldest).second) return;
    asio::co_spawn(
        m_executor,
        [self = shared_from_this(), oldest = *result.oldest] { return self->ping_oldest(oldest); },
        LogException{"kad ping"});
}

asio::awaitable<void> KadService::ping_oldest(crypto::PeerId oldest) {
    const auto* entry = m_table.find(oldest);
    if (entry) {
        kad::PeerInfo peer{entry->id, entry->addrs, {}};
        kad::Message ping;
        ping.type = kad::MessageType::ping;
        auto pong = co_await request(std::move(peer), std::move(ping), true);
        if (pong) {
            m_table.touch(oldest, now());
        } else {
            m_table.remove(oldest);  // the most recent replacement takes its slot
        }
    }
    m_pinging.erase(oldest);
}

void KadService::failed_peer(const crypto::PeerId& peer) { m_table.remove(peer); }

void KadService::on_identify(const std::shared_ptr<Connection>& connection,
                             const IdentifyInfo& info) {
    kad::PeerInfo peer;
    peer.id = connection->remote_peer();
    if (!info.lists(m_options.protocol)) {
        m_table.remove(peer.id);
        return;
    }
    for (const Bytes& bytes : info.listen_addrs) {
        if (peer.addrs.size() == m_options.limits.max_addrs_per_peer) break;
        if (auto addr = Multiaddr::from_bytes(bytes)) peer.addrs.push_back(addr.value());
    }
    learned_server(peer);
}

// ---- maintenance ------------------------------------------------------------------------------

void KadService::start() {
    if (m_started) return;
    m_started = true;
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->maintenance_loop(); },
        LogException{"kad maintenance"});
}

void KadService::stop() {
    m_stopped = true;
    m_timer.cancel();
    for (const auto& weak : m_runs) {
        if (auto run = weak.lock()) run->wake.cancel();
    }
    m_runs.clear();
}

asio::awaitable<void> KadService::refresh() {
    Bytes self_key = m_host.peer_id().bytes();
    co_await find_node(std::move(self_key));
    const auto deepest = m_table.deepest_nonempty_bucket();
    if (!deepest) co_return;
    // A random key in each bucket up to the deepest one in use: random bytes until their hash
    // shares exactly `cpl` bits with us.
    for (std::size_t cpl = 0; cpl <= std::min(*deepest, kMaxRefreshedBuckets) && !m_stopped;
         ++cpl) {
        Bytes key(34);
        key[0] = 0x12;
        key[1] = 0x20;
        bool hit = false;
        for (std::size_t i = 0; i < kMaxRefreshTries && !hit; ++i) {
            crypto::random_bytes(MutableByteSpan(key).subspan(2));
            hit = kad::common_prefix_length(m_table.self_key(), kad::Key::from_bytes(key)) == cpl;
        }
        if (hit) co_await find_node(std::move(key));
    }
}

asio::awaitable<void> KadService::maintenance_loop() {
    auto next_refresh = now();
    auto next_reprovide = now() + m_options.reprovide_interval;
    while (!m_stopped) {
        if (now() >= next_refresh) {
            co_await refresh();
            m_providers.expire(now());
            next_refresh = now() + m_options.refresh_interval;
        }
        if (m_stopped) break;
        if (now() >= next_reprovide) {
            const std::vector<Bytes> keys(m_provided.begin(), m_provided.end());
            for (const Bytes& key : keys) {
                if (m_stopped || !m_provided.contains(key)) continue;
                Bytes copy = key;
                auto provided = co_await provide(std::move(copy));
                if (!provided)
                    net_log().info("kad re-provide of {} failed: {}", kad::key_cid(key),
                                   provided.error().message());
            }
            next_reprovide = now() + m_options.reprovide_interval;
        }
        m_timer.expires_after(std::min(next_refresh, next_reprovide) - now());
        boost::system::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace swarmd::net
