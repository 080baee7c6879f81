#include "net/autonat.hpp"

#include <algorithm>

#include "net/autonat.pb.h"
#include "net/error.hpp"

namespace swarmd::net::autonat {
namespace {

constexpr int kTypeField = 1;
constexpr int kStatusField = 1;

bool has_unknown_field(const google::protobuf::Message& msg, int number) {
    const auto& unknown = msg.GetReflection()->GetUnknownFields(msg);
    for (int i = 0; i < unknown.field_count(); ++i) {
        if (unknown.field(i).number() == number) return true;
    }
    return false;
}

bool known_status(int status) {
    switch (static_cast<ResponseStatus>(status)) {
        case ResponseStatus::ok:
        case ResponseStatus::dial_error:
        case ResponseStatus::dial_refused:
        case ResponseStatus::bad_request:
        case ResponseStatus::internal_error:
            return true;
    }
    return false;
}

DialResponse refuse(ResponseStatus status, std::string text) {
    return DialResponse{status, std::move(text), std::nullopt};
}

}  // namespace

// ---- messages ---------------------------------------------------------------------------------

Message make_dial(const crypto::PeerId& self, std::vector<Multiaddr> addrs) {
    Message m;
    m.type = MessageType::dial;
    m.dial = Dial{self, std::move(addrs)};
    return m;
}

Message make_response(DialResponse response) {
    Message m;
    m.type = MessageType::dial_response;
    m.dial_response = std::move(response);
    return m;
}

Result<Bytes> encode_message(const Message& message, const Limits& limits) {
    pb::Message msg;
    msg.set_type(static_cast<pb::Message::MessageType>(message.type));
    if (message.type == MessageType::dial) {
        if (!message.dial) return Errc::missing_dial;
        if (message.dial->addrs.size() > limits.max_addrs) return Errc::too_many_addrs;
        pb::Message::PeerInfo* peer = msg.mutable_dial()->mutable_peer();
        if (message.dial->peer) {
            const Bytes& id = message.dial->peer->bytes();
            peer->set_id(id.data(), id.size());
        }
        for (const Multiaddr& addr : message.dial->addrs) {
            const Bytes bytes = addr.to_bytes();
            peer->add_addrs(bytes.data(), bytes.size());
        }
    } else {
        if (!message.dial_response) return Errc::missing_dial_response;
        const DialResponse& r = *message.dial_response;
        if (r.status_text.size() > limits.max_status_text) return Errc::status_text_too_long;
        pb::Message::DialResponse* out = msg.mutable_dialresponse();
        out->set_status(static_cast<pb::Message::ResponseStatus>(r.status));
        if (!r.status_text.empty()) out->set_statustext(r.status_text);
        if (r.addr) {
            const Bytes bytes = r.addr->to_bytes();
            out->set_addr(bytes.data(), bytes.size());
        }
    }
    if (msg.ByteSizeLong() > limits.max_message_size) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<Message> decode_message(ByteSpan body, const Limits& limits) {
    if (body.size() > limits.max_message_size) return Errc::message_too_large;
    pb::Message msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::malformed_message;
    if (has_unknown_field(msg, kTypeField)) return Errc::unknown_message_type;
    Message out;
    out.type = static_cast<MessageType>(static_cast<int>(msg.type()));
    if (out.type == MessageType::dial) {
        if (!msg.has_dial()) return Errc::missing_dial;
        const pb::Message::PeerInfo& peer = msg.dial().peer();
        Dial dial;
        if (peer.has_id()) {
            auto id = crypto::PeerId::from_bytes(as_bytes(peer.id()));
            if (!id) return Errc::bad_peer_id;
            dial.peer = std::move(id).value();
        }
        dial.addrs.reserve(std::min(limits.max_addrs, static_cast<std::size_t>(peer.addrs_size())));
        for (const std::string& bytes : peer.addrs()) {
            if (dial.addrs.size() == limits.max_addrs) break;
            auto addr = Multiaddr::from_bytes(as_bytes(bytes));
            if (addr) {
                dial.addrs.push_back(std::move(addr).value());
            } else if (addr.error() != net::Errc::unknown_protocol) {
                return Errc::bad_multiaddr;
            }
        }
        out.dial = std::move(dial);
        return out;
    }
    if (!msg.has_dialresponse()) return Errc::missing_dial_response;
    const pb::Message::DialResponse& r = msg.dialresponse();
    if (has_unknown_field(r, kStatusField)) return Errc::unknown_status;
    if (!r.has_status()) return Errc::missing_status;
    const int status = static_cast<int>(r.status());
    if (!known_status(status)) return Errc::unknown_status;
    if (r.statustext().size() > limits.max_status_text) return Errc::status_text_too_long;
    DialResponse response;
    response.status = static_cast<ResponseStatus>(status);
    response.status_text = r.statustext();
    if (r.has_addr() && !r.addr().empty()) {
        auto addr = Multiaddr::from_bytes(as_bytes(r.addr()));
        if (addr) {
            response.addr = std::move(addr).value();
        } else if (addr.error() != net::Errc::unknown_protocol) {
            return Errc::bad_multiaddr;
        }
    }
    out.dial_response = std::move(response);
    return out;
}

// ---- server -----------------------------------------------------------------------------------

void Server::forget_old(Time now) {
    const auto old = [&](Time t) { return t + m_options.window <= now; };
    while (!m_admitted.empty() && old(m_admitted.front())) m_admitted.pop_front();
    for (auto it = m_peers.begin(); it != m_peers.end();) {
        auto& times = it->second.admitted;
        while (!times.empty() && old(times.front())) times.pop_front();
        it = times.empty() && it->second.in_flight == 0 ? m_peers.erase(it) : std::next(it);
    }
}

Server::Admission Server::admit(const crypto::PeerId& sender, const Multiaddr& observed,
                                const Message& request, Time now) {
    const auto refused = [](ResponseStatus status, std::string text) {
        return Admission{{}, refuse(status, std::move(text))};
    };
    if (request.type != MessageType::dial || !request.dial)
        return refused(ResponseStatus::bad_request, "expected a DIAL message");
    if (is_relayed(observed))
        return refused(ResponseStatus::dial_refused, "refusing a relayed connection");
    if (!request.dial->peer || *request.dial->peer != sender)
        return refused(ResponseStatus::bad_request, "peer id does not match the connection");
    const auto ip = IpAddress::of(observed);
    if (!ip || !m_policy.is_public(*ip))
        return refused(ResponseStatus::dial_refused, "requester address is not public");

    // Only the requester's own IP, so nobody can point this server at a third party.
    std::vector<Multiaddr> dial;
    for (const Multiaddr& addr : request.dial->addrs) {
        if (dial.size() == m_options.max_dial_addrs) break;
        const auto named = addr.peer_id();
        if (named && *named != sender) continue;
        const auto bare = direct_tcp(addr);
        if (!bare || bare->tcp_endpoint()->port == 0 || IpAddress::of(*bare) != ip) continue;
        if (std::find(dial.begin(), dial.end(), *bare) == dial.end()) dial.push_back(*bare);
    }
    if (dial.empty()) return refused(ResponseStatus::dial_refused, "no dialable address");

    forget_old(now);
    auto it = m_peers.find(sender);
    if (it != m_peers.end()) {
        if (it->second.in_flight >= m_options.max_in_flight_per_peer)
            return refused(ResponseStatus::dial_refused, "a request is already in flight");
        if (it->second.admitted.size() >= m_options.max_per_peer)
            return refused(ResponseStatus::dial_refused, "too many requests from this peer");
    }
    if (m_admitted.size() >= m_options.max_global)
        return refused(ResponseStatus::dial_refused, "too many requests");
    PeerState& state = m_peers[sender];
    ++state.in_flight;
    state.admitted.push_back(now);
    m_admitted.push_back(now);
    return Admission{std::move(dial), std::nullopt};
}

void Server::finished(const crypto::PeerId& sender) {
    auto it = m_peers.find(sender);
    if (it != m_peers.end() && it->second.in_flight > 0) --it->second.in_flight;
}

DialResponse Server::result(const std::optional<Multiaddr>& dialed) {
    if (dialed) return DialResponse{ResponseStatus::ok, "", *dialed};
    return refuse(ResponseStatus::dial_error, "dial back failed");
}

// ---- client -----------------------------------------------------------------------------------

std::string_view to_string(Reachability r) noexcept {
    switch (r) {
        case Reachability::unknown:
            return "unknown";
        case Reachability::public_:
            return "public";
        case Reachability::private_:
            return "private";
    }
    return "unknown";
}

void Client::recheck(Time /*now*/) { m_recheck = true; }

Time Client::next_round(Time now) const {
    if (m_recheck || !m_round_started) return now;
    const bool decided = reachability(now) != Reachability::unknown;
    return *m_round_started + (decided ? m_options.refresh_interval : m_options.retry_interval);
}

std::vector<crypto::PeerId> Client::next(const std::vector<ServerCandidate>& candidates, Time now) {
    for (auto it = m_in_flight.begin(); it != m_in_flight.end();)
        it = it->second.deadline <= now ? m_in_flight.erase(it) : std::next(it);
    if (next_round(now) <= now) {
        // A round stays open until it asked servers_per_round servers: a server that connects
        // after it began is asked at once, not a retry interval later.
        m_round_started = now;
        m_recheck = false;
        m_asked_in_round = 0;
    }
    std::vector<crypto::PeerId> out;
    if (m_asked_in_round >= m_options.servers_per_round) return out;

    // Candidates of groups not in flight, one per group: no current answer first, then oldest.
    std::map<IpAddress, const ServerCandidate*> by_group;
    for (const ServerCandidate& c : candidates) {
        const auto ip = IpAddress::of(c.addr);
        if (!ip || m_in_flight.contains(c.id)) continue;
        const IpAddress group = ip->group();
        const bool busy = std::any_of(m_in_flight.begin(), m_in_flight.end(),
                                      [&](const auto& q) { return q.second.group == group; });
        if (!busy) by_group.emplace(group, &c);
    }
    std::vector<std::pair<Time, std::pair<IpAddress, const ServerCandidate*>>> ranked;
    for (const auto& [group, c] : by_group) {
        auto vote = m_votes.find(group);
        const bool current = vote != m_votes.end() && vote->second.at + m_options.answer_ttl > now;
        ranked.emplace_back(current ? vote->second.at : Time::min(), std::pair{group, c});
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [at, entry] : ranked) {
        if (m_asked_in_round >= m_options.servers_per_round ||
            m_in_flight.size() >= m_options.servers_per_round)
            break;
        m_in_flight[entry.second->id] = Query{entry.first, now + m_options.request_timeout};
        ++m_asked_in_round;
        out.push_back(entry.second->id);
    }
    return out;
}

void Client::on_response(const crypto::PeerId& server, const DialResponse& response,
                         const std::vector<Multiaddr>& asked, Time now) {
    auto it = m_in_flight.find(server);
    if (it == m_in_flight.end()) return;  // late, or never asked
    const IpAddress group = it->second.group;
    m_in_flight.erase(it);
    bool reachable = false;
    switch (response.status) {
        case ResponseStatus::ok: {
            if (response.addr) {
                const Multiaddr dialed = response.addr->without_peer_id();
                const bool ours = std::any_of(asked.begin(), asked.end(), [&](const auto& a) {
                    return a.without_peer_id() == dialed;
                });
                if (!ours) return;
            }
            reachable = true;
            break;
        }
        case ResponseStatus::dial_error:
            reachable = false;
            break;
        default:
            return;  // refused or broken: says nothing about us
    }
    if (!m_votes.contains(group) && m_votes.size() >= m_options.max_servers) {
        auto oldest = std::min_element(
            m_votes.begin(), m_votes.end(),
            [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
        m_votes.erase(oldest);
    }
    m_votes[group] = Vote{reachable, now};
}

void Client::on_failure(const crypto::PeerId& server) { m_in_flight.erase(server); }

std::pair<std::size_t, std::size_t> Client::votes(Time now) const {
    std::size_t yes = 0;
    std::size_t no = 0;
    for (const auto& [group, vote] : m_votes) {
        if (vote.at + m_options.answer_ttl <= now) continue;
        ++(vote.reachable ? yes : no);
    }
    return {yes, no};
}

Reachability Client::reachability(Time now) const {
    const auto [yes, no] = votes(now);
    if (yes >= m_options.confirmations && yes > no) return Reachability::public_;
    if (no >= m_options.confirmations && no > yes) return Reachability::private_;
    return Reachability::unknown;
}

Time Client::next_wakeup(Time now) const {
    Time earliest = next_round(now);
    for (const auto& [id, q] : m_in_flight) earliest = std::min(earliest, q.deadline);
    return earliest;
}

}  // namespace swarmd::net::autonat
