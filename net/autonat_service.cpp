#include "net/autonat_service.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/connection.hpp"
#include "net/host.hpp"
#include "net/log.hpp"
#include "net/request.hpp"
#include "net/spawn.hpp"
#include "net/stream.hpp"

namespace swarmd::net {
namespace asio = boost::asio;

AutoNatService::AutoNatService(asio::any_io_executor executor, Host& host,
                               AutoNatServiceOptions options)
    : m_host(host),
      m_executor(std::move(executor)),
      m_options(std::move(options)),
      m_server(AddressPolicy(m_options.treat_as_public), m_options.server),
      m_client(m_options.client),
      m_observed(m_options.observed),
      m_timer(m_executor) {}

// ---- server -----------------------------------------------------------------------------------

void AutoNatService::set_server_mode(bool server) {
    m_server_mode = server;
    if (!server || m_handler_registered) return;
    m_handler_registered = true;
    RequestLimits limits;
    limits.max_request = m_options.limits.max_message_size;
    limits.timeout = m_options.serve_timeout;
    serve_requests(
        m_host, std::string(autonat::kProtocol), limits,
        [weak = weak_from_this()](Stream& stream, Bytes body) -> asio::awaitable<Answer> {
            auto self = weak.lock();
            if (!self) co_return Answer::refused;
            const bool answered = co_await self->serve(stream, std::move(body));
            co_return answered ? Answer::answered : Answer::refused;
        });
}

asio::awaitable<bool> AutoNatService::serve(Stream& stream, Bytes body) {
    const crypto::PeerId sender = stream.remote_peer();
    const auto connection = m_host.connection_to(sender);
    if (!m_server_mode || m_stopped || !connection) co_return false;
    autonat::DialResponse response;
    auto request = autonat::decode_message(body, m_options.limits);
    if (!request) {
        response = {autonat::ResponseStatus::bad_request, request.error().message(), {}};
    } else {
        auto admission = m_server.admit(sender, connection->remote_addr(), request.value(), now());
        if (admission.refusal) {
            response = std::move(*admission.refusal);
        } else {
            std::optional<Multiaddr> dialed;
            for (const Multiaddr& addr : admission.dial) {
                Multiaddr target = addr.with_peer_id(sender);
                auto probed =
                    co_await m_host.probe_dial(std::move(target), m_options.probe_timeout);
                if (probed) {
                    dialed = addr;
                    break;
                }
                net_log().debug("autonat dial-back failed: {} addr={} peer={}",
                                probed.error().message(), addr.to_string(), sender.to_base58());
            }
            m_server.finished(sender);
            response = autonat::Server::result(dialed);
        }
    }
    net_log().debug("autonat answer status={} text={} peer={}", static_cast<int>(response.status),
                    response.status_text, sender.to_base58());
    auto encoded =
        autonat::encode_message(autonat::make_response(std::move(response)), m_options.limits);
    if (!encoded) co_return false;
    const Bytes reply = std::move(encoded).value();
    auto written = co_await stream.write_length_prefixed(reply);
    co_return static_cast<bool>(written);
}

// ---- observed addresses -----------------------------------------------------------------------

void AutoNatService::on_identify(const std::shared_ptr<Connection>& connection,
                                 const IdentifyInfo& info) {
    if (m_stopped) return;
    const crypto::PeerId peer = connection->remote_peer();
    if (info.observed_addr) {
        if (auto observed = Multiaddr::from_bytes(*info.observed_addr)) {
            if (m_observed.report(observed.value(), connection->remote_addr(), now()))
                net_log().info("observed address confirmed: {}", observed.value().to_string());
        }
    }
    if (info.lists(autonat::kProtocol)) {
        m_servers.insert(peer);
    } else {
        m_servers.erase(peer);
    }
    wake();
}

std::vector<Multiaddr> AutoNatService::confirmed_addrs() const {
    return m_observed.confirmed(now());
}

std::vector<Multiaddr> AutoNatService::observed_addrs() const { return m_observed.observed(now()); }

std::vector<Multiaddr> AutoNatService::candidate_addrs() const {
    if (m_options.candidate_addrs) return m_options.candidate_addrs();
    return dial_candidates(m_host.listen_addrs(), m_observed, policy(), now(),
                           m_options.limits.max_addrs);
}

std::vector<Multiaddr> AutoNatService::advertised_addrs(const Multiaddr& peer_addr) const {
    std::vector<Multiaddr> ours;
    for (const Multiaddr& addr : m_host.listen_addrs()) ours.push_back(addr.without_peer_id());
    for (const Multiaddr& addr : m_observed.confirmed(now())) {
        if (std::find(ours.begin(), ours.end(), addr) == ours.end()) ours.push_back(addr);
    }
    auto out = policy().advertise_to(ours, peer_addr);
    if (m_reachability == autonat::Reachability::private_) {
        std::erase_if(
            out, [&](const Multiaddr& a) { return policy().scope(a) == AddressScope::public_; });
    }
    return out;
}

// ---- client -----------------------------------------------------------------------------------

void AutoNatService::start() {
    if (m_started || m_stopped) return;
    m_started = true;
    asio::co_spawn(
        m_executor, [self = shared_from_this()] { return self->client_loop(); },
        LogException{"autonat client"});
}

void AutoNatService::stop() {
    m_stopped = true;
    m_timer.cancel();
}

void AutoNatService::wake() {
    m_dirty = true;
    m_timer.cancel();
}

std::vector<autonat::ServerCandidate> AutoNatService::servers() {
    std::vector<autonat::ServerCandidate> out;
    for (auto it = m_servers.begin(); it != m_servers.end();) {
        const auto connection = m_host.connection_to(*it);
        if (!connection) {
            it = m_servers.erase(it);
            continue;
        }
        if (!is_relayed(connection->remote_addr()))
            out.push_back(autonat::ServerCandidate{*it, connection->remote_addr()});
        ++it;
    }
    return out;
}

void AutoNatService::update_reachability() {
    const auto verdict = m_client.reachability(now());
    if (verdict == m_reachability) return;
    const auto [yes, no] = m_client.votes(now());
    net_log().info("reachability {} -> {} (servers: {} reached us, {} could not)",
                   autonat::to_string(m_reachability), autonat::to_string(verdict), yes, no);
    m_reachability = verdict;
    if (m_on_change) m_on_change(verdict);
}

asio::awaitable<void> AutoNatService::client_loop() {
    while (!m_stopped) {
        m_dirty = false;
        const auto t = now();
        m_observed.expire(t);
        const auto candidates = candidate_addrs();
        if (candidates != m_last_candidates) {
            m_last_candidates = candidates;
            m_client.recheck(t);
        }
        if (!candidates.empty()) {
            for (crypto::PeerId& server : m_client.next(servers(), t)) {
                asio::co_spawn(
                    m_executor,
                    [self = shared_from_this(), server = std::move(server), candidates] {
                        return self->ask(server, candidates);
                    },
                    LogException{"autonat request"});
            }
        }
        update_reachability();
        if (m_dirty) continue;
        const auto wakeup =
            candidates.empty() ? t + m_options.client.retry_interval : m_client.next_wakeup(t);
        m_timer.expires_after(std::max(wakeup - t, autonat::Duration::zero()));
        boost::system::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<Result<autonat::DialResponse>> AutoNatService::request_dial_back(
    crypto::PeerId server, std::vector<Multiaddr> addrs) {
    auto body =
        autonat::encode_message(autonat::make_dial(m_host.peer_id(), addrs), m_options.limits);
    if (!body) co_return body.error();
    const auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_options.client.request_timeout);
    Bytes request = std::move(body).value();
    std::string protocol(autonat::kProtocol);
    auto stream =
        co_await send_request(m_host, server, std::move(protocol), std::move(request), timeout);
    if (!stream) co_return stream.error();
    auto reply = co_await stream.value()->read_length_prefixed(m_options.limits.max_message_size);
    stream.value()->release();
    if (!reply) co_return reply.error();
    auto answer = autonat::decode_message(reply.value(), m_options.limits);
    if (!answer) co_return answer.error();
    if (!answer.value().dial_response) co_return autonat::Errc::unexpected_message;
    co_return *answer.value().dial_response;
}

asio::awaitable<void> AutoNatService::ask(crypto::PeerId server, std::vector<Multiaddr> addrs) {
    auto response = co_await request_dial_back(server, addrs);
    if (m_stopped) co_return;
    if (!response) {
        net_log().debug("autonat request failed: {} peer={}", response.error().message(),
                        server.to_base58());
        m_client.on_failure(server);
        wake();
        co_return;
    }
    net_log().debug("autonat answer status={} text={} peer={}",
                    static_cast<int>(response.value().status), response.value().status_text,
                    server.to_base58());
    m_client.on_response(server, response.value(), addrs, now());
    wake();
}

}  // namespace swarmd::net
