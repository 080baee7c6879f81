#include "node/ops/status_board.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"

namespace swarmd::node {
using json = nlohmann::json;

bool StatusRate::admit(const crypto::PeerId& author, Clock::time_point now) {
    auto it = m_buckets.find(author);
    if (it == m_buckets.end()) {
        if (m_buckets.size() >= kMaxAuthors) prune(now);
        if (m_buckets.size() >= kMaxAuthors) return false;
        it = m_buckets.emplace(author, Bucket{m_burst, now}).first;
    }
    refill(it->second, now);
    if (it->second.tokens < 1.0) return false;
    it->second.tokens -= 1.0;
    return true;
}

void StatusRate::refill(Bucket& b, Clock::time_point now) const {
    const double dt = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(m_burst, b.tokens + dt * m_rate);
    b.at = now;
}

void StatusRate::prune(Clock::time_point now) {
    for (auto it = m_buckets.begin(); it != m_buckets.end();) {
        refill(it->second, now);
        it = it->second.tokens >= m_burst ? m_buckets.erase(it) : std::next(it);
    }
}

namespace {

std::string_view refusal(std::error_code ec) {
    switch (static_cast<StatusErrc>(ec.value())) {
        case StatusErrc::too_large:
            return "too_large";
        case StatusErrc::not_json:
            return "not_json";
        case StatusErrc::unknown_type:
            return "unknown_type";
        case StatusErrc::unknown_field:
            return "unknown_field";
        case StatusErrc::bad_field:
            return "bad_field";
        case StatusErrc::bad_order_signature:
            return "bad_signature";
    }
    return "invalid";
}

}  // namespace

StatusBoard::StatusBoard(ByteSpan swarm_id, crypto::PeerId self,
                         std::vector<crypto::PeerId> operators, Metrics& metrics,
                         StatusBoardOptions options, IsDirect direct, Forget forget)
    : m_swarm_id(swarm_id.begin(), swarm_id.end()),
      m_self(std::move(self)),
      m_operators(std::move(operators)),
      m_metrics(metrics),
      m_options(options),
      m_direct(std::move(direct)),
      m_forget(std::move(forget)),
      m_rate(options.burst,
             options.per_interval / std::chrono::duration<double>(options.interval).count()) {}

Counter& StatusBoard::refused(std::string_view reason) {
    return m_metrics.counter("swarmd_status_refused_total",
                             "Status topic messages refused, by reason",
                             fmt::format("reason=\"{}\"", reason));
}

bool StatusBoard::is_operator(const crypto::PeerId& peer) const {
    return std::find(m_operators.begin(), m_operators.end(), peer) != m_operators.end();
}

net::gossipsub::Validation StatusBoard::validate(net::gossipsub::Delivery& d,
                                                 Clock::time_point now) {
    using net::gossipsub::Validation;
    auto refuse = [&](std::string_view reason, Validation v) {
        refused(reason).add();
        category_log("gossip")->debug("status message refused: {} peer={} from={}", reason,
                                      d.author.to_base58(), d.received_from.to_base58());
        return v;
    };
    auto msg = decode_status(d.data, m_swarm_id);
    if (!msg) return refuse(refusal(msg.error()), Validation::reject);
    const MergeOrder* order = std::get_if<MergeOrder>(&msg.value());
    if (auto* beat = std::get_if<Heartbeat>(&msg.value()); beat && beat->order)
        order = &*beat->order;
    if (order && !is_operator(order->signer)) return refuse("not_operator", Validation::reject);
    if (d.author != m_self && !m_rate.admit(d.author, now))
        return refuse("rate", Validation::ignore);
    d.decoded = std::make_shared<StatusMessage>(std::move(msg.value()));
    return Validation::accept;
}

StatusBoard::Received StatusBoard::receive(const net::gossipsub::Delivery& d,
                                           Clock::time_point now) {
    Received out;
    // What the validator decoded; decoded here only when no validator ran.
    StatusMessage* msg = d.decoded_as<StatusMessage>();
    std::optional<StatusMessage> own;
    if (!msg) {
        auto decoded = decode_status(d.data, m_swarm_id);
        if (!decoded) return out;
        own = std::move(decoded.value());
        msg = &*own;
    }
    if (auto* order = std::get_if<MergeOrder>(msg)) {
        out.order = *order;
        return out;
    }
    auto& beat = std::get<Heartbeat>(*msg);
    if (d.author == m_self) return out;
    // A trainer that heard a merge order this node missed (it was away) passes it on.
    out.order = beat.order;
    const auto id = d.author.to_base58();
    if (!m_peers.contains(id) && !admit_author(d)) {
        refused("table_full").add();
        return out;
    }
    PeerStatus& s = m_peers[id];
    if (s.heard == Clock::time_point{}) s.received_from = d.received_from;
    s.peer = d.author;
    s.heard = now;
    s.beat = beat;
    out.beat = std::move(beat);
    return out;
}

bool StatusBoard::admit_author(const net::gossipsub::Delivery& d) {
    if (!m_direct(d.author)) {
        if (m_peers.size() >= m_options.max_authors) return false;
        const auto via = std::count_if(m_peers.begin(), m_peers.end(), [&](const auto& e) {
            return e.second.received_from == d.received_from && !m_direct(e.second.peer);
        });
        return static_cast<std::size_t>(via) < m_options.max_per_forwarder;
    }
    if (m_peers.size() < m_options.max_authors) return true;
    auto stalest = m_peers.end();
    for (auto it = m_peers.begin(); it != m_peers.end(); ++it) {
        if (m_direct(it->second.peer)) continue;
        if (stalest == m_peers.end() || it->second.heard < stalest->second.heard) stalest = it;
    }
    if (stalest == m_peers.end()) return false;
    forget(stalest);
    return true;
}

void StatusBoard::forget(Table::iterator it) {
    const auto peer = it->second.peer;
    m_peers.erase(it);
    m_forget(peer);
}

void StatusBoard::prune(Clock::time_point now) {
    const auto cutoff = now - m_options.forget_after_beats * m_options.interval;
    for (auto it = m_peers.begin(); it != m_peers.end();) {
        auto next = std::next(it);
        if (it->second.heard < cutoff) forget(it);
        it = next;
    }
}

json StatusBoard::peers_json() const {
    json peers = json::object();
    for (const auto& [id, s] : m_peers) {
        peers[id] = {{"round", s.beat.round},
                     {"merge_state", s.beat.merge_state},
                     {"merged_hash", s.beat.merged_hash ? hex_encode(*s.beat.merged_hash) : ""},
                     {"accuracy", s.beat.accuracy},
                     {"role", s.beat.trainer ? "trainer" : "relay"},
                     {"checkpoints", checkpoints_json(s.beat.checkpoints)}};
    }
    return peers;
}

}  // namespace swarmd::node
