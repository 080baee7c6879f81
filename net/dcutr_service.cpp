#include "net/dcutr_service.hpp"

#include <boost/asio/co_spawn.hpp>

#include "net/connection.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/log.hpp"
#include "net/spawn.hpp"
#include "net/stream.hpp"

namespace swarmd::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// A short, bounded label for /metrics.
std::string failure_label(std::error_code reason) {
    if (reason == dcutr::Errc::no_dialable_addrs) return "no_dialable_addrs";
    if (reason == Errc::timeout || reason == dcutr::Errc::timeout ||
        reason == dcutr::Errc::punch_failed)
        return "timeout";
    if (reason.category() == dcutr::dcutr_category()) return "protocol";
    return "stream";
}

// Erases the peer from the set however the coroutine ends, unless the service is gone.
struct Upgrading {
    std::set<crypto::PeerId>& set;
    std::weak_ptr<DcutrService> service;
    crypto::PeerId peer;
    ~Upgrading() {
        if (service.lock()) set.erase(peer);
    }
};

}  // namespace

DcutrService::DcutrService(asio::any_io_executor executor, Host& host, DcutrServiceOptions options)
    : m_executor(std::move(executor)),
      m_host(host),
      m_options(std::move(options)),
      m_policy(m_options.treat_as_public) {}

void DcutrService::start() {
    m_host.set_handler(
        std::string(dcutr::kProtocol),
        [weak = weak_from_this()](std::shared_ptr<Stream> stream) -> asio::awaitable<void> {
            auto self = weak.lock();
            if (!self || self->m_stopped) {
                stream->reset();
                co_return;
            }
            co_await self->answer(std::move(stream));
        });
}

void DcutrService::stop() { m_stopped = true; }

std::vector<Multiaddr> DcutrService::local_addrs() const {
    if (!m_options.local_addrs) return {};
    return dcutr::punch_targets(m_options.local_addrs(), m_policy, m_options.limits.max_addrs);
}

void DcutrService::on_identify(const std::shared_ptr<Connection>& connection,
                               const IdentifyInfo& info) {
    if (m_stopped || !connection->relayed() || connection->outbound() ||
        !info.lists(dcutr::kProtocol))
        return;
    const crypto::PeerId peer = connection->remote_peer();
    if (m_upgrading.contains(peer)) return;
    if (auto current = m_host.connection_to(peer); current && !current->relayed()) return;
    asio::co_spawn(
        m_executor,
        [self = shared_from_this(), connection]() -> asio::awaitable<void> {
            (void)co_await self->upgrade(connection);
        },
        LogException{"dcutr upgrade"});
}

asio::awaitable<Result<std::shared_ptr<Connection>>> DcutrService::upgrade(
    std::shared_ptr<Connection> relayed) {
    auto self = shared_from_this();
    const crypto::PeerId peer = relayed->remote_peer();
    if (m_upgrading.contains(peer)) co_return Errc::invalid_state;
    m_upgrading.insert(peer);
    Upgrading guard{m_upgrading, weak_from_this(), peer};

    if (m_options.unilateral) {
        std::vector<Multiaddr> offered;
        if (const IdentifyInfo* info = m_host.identified(peer)) {
            for (const Bytes& raw : info->listen_addrs) {
                if (auto addr = Multiaddr::from_bytes(raw)) offered.push_back(addr.value());
            }
        }
        for (const Multiaddr& target :
             dcutr::punch_targets(offered, m_policy, m_options.limits.max_addrs)) {
            if (m_stopped) co_return Errc::connection_closed;
            auto dialed = co_await m_host.dial(target.with_peer_id(peer));
            if (dialed && !dialed.value()->relayed()) {
                ++m_stats.unilateral_upgrades;
                net_log().info("direct connection by dialing {} (no hole punch needed) peer={}",
                               target.to_string(), peer.to_base58());
                co_return dialed;
            }
        }
    }
    auto direct = co_await punch_rounds(relayed);
    if (!direct) {
        count_failure(direct.error());
        net_log().info("hole punch failed, staying relayed: {} peer={}", direct.error().message(),
                       peer.to_base58());
    }
    co_return direct;
}

asio::awaitable<Result<std::shared_ptr<Connection>>> DcutrService::punch_rounds(
    std::shared_ptr<Connection> relayed) {
    const crypto::PeerId peer = relayed->remote_peer();
    // On the relayed connection itself: the round trip timed is the relay's.
    auto opened = co_await relayed->open_stream(std::string(dcutr::kProtocol));
    if (!opened) co_return opened.error();
    auto stream = std::move(opened).value();
    std::error_code last = dcutr::Errc::punch_failed;
    for (int round = 0; round < m_options.attempts && !m_stopped; ++round) {
        ++m_stats.attempts;
        const Clock::time_point sent = Clock::now();
        stream->set_deadline(sent + m_options.exchange_timeout);
        auto wrote = co_await write_message(*stream, dcutr::Type::connect);
        if (!wrote) co_return wrote.error();
        auto theirs = co_await read_message(*stream);
        if (!theirs) co_return theirs.error();
        if (theirs.value().type != dcutr::Type::connect) co_return dcutr::Errc::unexpected_message;
        const Clock::duration rtt = Clock::now() - sent;
        auto synced = co_await write_message(*stream, dcutr::Type::sync);
        if (!synced) co_return synced.error();
        auto targets =
            dcutr::punch_targets(theirs.value().addrs, m_policy, m_options.limits.max_addrs);
        if (targets.empty()) co_return dcutr::Errc::no_dialable_addrs;
        net_log().debug("hole punch round {} rtt={}ms targets={} peer={}", round + 1,
                        std::chrono::duration_cast<std::chrono::milliseconds>(rtt).count(),
                        targets.size(), peer.to_base58());
        auto punched =
            co_await m_host.punch(peer, std::move(targets), true, m_options.punch_timeout, rtt / 2);
        if (punched) {
            ++m_stats.direct_upgrades;
            stream->close_write();
            net_log().info("direct connection by hole punch (round {}) peer={}", round + 1,
                           peer.to_base58());
            co_return punched;
        }
        last = punched.error();
        if (!relayed->usable()) break;
    }
    stream->reset();
    co_return last;
}

asio::awaitable<void> DcutrService::answer(std::shared_ptr<Stream> stream) {
    auto self = shared_from_this();
    const crypto::PeerId peer = stream->remote_peer();
    auto connection = stream->connection();
    if (!connection || !connection->relayed()) {
        // Nothing to upgrade on a direct connection.
        stream->reset();
        co_return;
    }
    for (int round = 0; round < m_options.attempts && !m_stopped; ++round) {
        stream->set_deadline(Clock::now() + m_options.exchange_timeout);
        auto theirs = co_await read_message(*stream);
        if (!theirs) {
            // End of stream: the peer is done (it has its direct connection, or gave up).
            if (theirs.error() != Errc::connection_closed &&
                theirs.error() != Errc::truncated_message)
                net_log().debug("dcutr exchange ended: {} peer={}", theirs.error().message(),
                                peer.to_base58());
            break;
        }
        if (theirs.value().type != dcutr::Type::connect) break;
        auto wrote = co_await write_message(*stream, dcutr::Type::connect);
        if (!wrote) break;
        auto sync = co_await read_message(*stream);
        if (!sync || sync.value().type != dcutr::Type::sync) break;
        ++m_stats.answered;
        auto targets =
            dcutr::punch_targets(theirs.value().addrs, m_policy, m_options.limits.max_addrs);
        if (targets.empty()) continue;
        // The peer dials after half the round trip; SYNC took that long to come here.
        auto punched = co_await m_host.punch(peer, std::move(targets), false,
                                             m_options.punch_timeout, Clock::duration::zero());
        if (punched) {
            ++m_stats.direct_upgrades;
            net_log().info("direct connection by hole punch (answering, round {}) peer={}",
                           round + 1, peer.to_base58());
            break;
        }
    }
    stream->close_write();
}

asio::awaitable<Result<dcutr::HolePunch>> DcutrService::read_message(Stream& stream) {
    auto body = co_await stream.read_length_prefixed(m_options.limits.max_message_size);
    if (!body) co_return body.error();
    co_return dcutr::decode(body.value(), m_options.limits);
}

asio::awaitable<Result<void>> DcutrService::write_message(Stream& stream, dcutr::Type type) {
    dcutr::HolePunch message;
    message.type = type;
    if (type == dcutr::Type::connect) message.addrs = local_addrs();
    auto body = dcutr::encode(message, m_options.limits);
    if (!body) co_return body.error();
    co_return co_await stream.write_length_prefixed(body.value());
}

void DcutrService::count_failure(std::error_code reason) {
    ++m_stats.failed_by_reason[failure_label(reason)];
}

}  // namespace swarmd::net
