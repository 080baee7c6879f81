#include "net/gossipsub_score.hpp"

#include <algorithm>

namespace swarmd::net::gossipsub {
namespace {

void decay(double& value, double factor, double to_zero) {
    value *= factor;
    if (value < to_zero) value = 0;
}

}  // namespace

const TopicScoreParams* PeerScore::topic_params(const std::string& topic) const {
    const auto it = m_params.topics.find(topic);
    const TopicScoreParams* p = it != m_params.topics.end() ? &it->second : &m_params.default_topic;
    return p->topic_weight == 0.0 ? nullptr : p;
}

PeerScore::TopicStats* PeerScore::topic_stats(const crypto::PeerId& peer,
                                              const std::string& topic) {
    if (topic_params(topic) == nullptr) return nullptr;
    const auto it = m_peers.find(peer);
    if (it == m_peers.end()) return nullptr;
    return &it->second.topics[topic];
}

void PeerScore::add_peer(const crypto::PeerId& peer, const std::string& ip, Time now) {
    auto& stats = m_peers[peer];
    stats.connected = true;
    if (stats.ip != ip) {
        if (!stats.ip.empty()) forget_ip(peer, stats.ip);
        stats.ip = ip;
        if (!ip.empty()) m_ips[ip].insert(peer);
    }
}

void PeerScore::forget_ip(const crypto::PeerId& peer, const std::string& ip) {
    const auto it = m_ips.find(ip);
    if (it == m_ips.end()) return;
    it->second.erase(peer);
    if (it->second.empty()) m_ips.erase(it);
}

void PeerScore::remove_peer(const crypto::PeerId& peer, Time now) {
    const auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    // Only non-positive scores are retained: a peer gains nothing by reconnecting to reset them.
    if (score(peer) > 0) {
        if (!it->second.ip.empty()) forget_ip(peer, it->second.ip);
        m_peers.erase(it);
        return;
    }
    auto& stats = it->second;
    for (auto& [topic, t] : stats.topics) {
        t.first_deliveries = 0;
        const TopicScoreParams* p = topic_params(topic);
        if (p && t.in_mesh && t.mesh_deliveries_active &&
            t.mesh_deliveries < p->mesh_message_deliveries_threshold) {
            const double deficit = p->mesh_message_deliveries_threshold - t.mesh_deliveries;
            t.mesh_failure_penalty += deficit * deficit;
        }
        t.in_mesh = false;
        t.mesh_deliveries_active = false;
    }
    stats.connected = false;
    stats.expire = now + m_params.retain_score;
}

void PeerScore::graft(const crypto::PeerId& peer, const std::string& topic, Time now) {
    TopicStats* t = topic_stats(peer, topic);
    if (!t) return;
    t->in_mesh = true;
    t->graft_time = now;
    t->mesh_time = {};
    t->mesh_deliveries_active = false;
}

void PeerScore::prune(const crypto::PeerId& peer, const std::string& topic) {
    TopicStats* t = topic_stats(peer, topic);
    if (!t) return;
    const TopicScoreParams* p = topic_params(topic);
    if (t->mesh_deliveries_active && t->mesh_deliveries < p->mesh_message_deliveries_threshold) {
        const double deficit = p->mesh_message_deliveries_threshold - t->mesh_deliveries;
        t->mesh_failure_penalty += deficit * deficit;
    }
    // The deficit now lives on in P3b; P3 itself applies only while in the mesh (as rust does).
    t->in_mesh = false;
    t->mesh_deliveries_active = false;
}

void PeerScore::first_delivery(const crypto::PeerId& peer, const std::string& topic) {
    TopicStats* t = topic_stats(peer, topic);
    if (!t) return;
    const TopicScoreParams* p = topic_params(topic);
    t->first_deliveries = std::min(t->first_deliveries + 1, p->first_message_deliveries_cap);
    if (t->in_mesh) {
        t->mesh_deliveries = std::min(t->mesh_deliveries + 1, p->mesh_message_deliveries_cap);
    }
}

void PeerScore::duplicate_delivery(const crypto::PeerId& peer, const std::string& topic,
                                   Time validated, Time now) {
    TopicStats* t = topic_stats(peer, topic);
    if (!t || !t->in_mesh) return;
    const TopicScoreParams* p = topic_params(topic);
    if (now > validated + p->mesh_message_deliveries_window) return;
    t->mesh_deliveries = std::min(t->mesh_deliveries + 1, p->mesh_message_deliveries_cap);
}

void PeerScore::invalid_delivery(const crypto::PeerId& peer, const std::string& topic) {
    TopicStats* t = topic_stats(peer, topic);
    if (t) t->invalid_deliveries += 1;
}

void PeerScore::add_penalty(const crypto::PeerId& peer, double count) {
    const auto it = m_peers.find(peer);
    if (it != m_peers.end()) it->second.behaviour_penalty += count;
}

void PeerScore::set_app_score(const crypto::PeerId& peer, double score) {
    const auto it = m_peers.find(peer);
    if (it != m_peers.end()) it->second.app_score = score;
}

void PeerScore::refresh(Time now) {
    if (now - m_last_decay < m_params.decay_interval) return;
    m_last_decay = now;
    const double zero = m_params.decay_to_zero;
    for (auto it = m_peers.begin(); it != m_peers.end();) {
        auto& stats = it->second;
        if (!stats.connected) {
            // Retained scores do not decay; they are dropped when the retention ends.
            if (now > stats.expire) {
                if (!stats.ip.empty()) forget_ip(it->first, stats.ip);
                it = m_peers.erase(it);
            } else {
                ++it;
            }
            continue;
        }
        for (auto& [topic, t] : stats.topics) {
            const TopicScoreParams* p = topic_params(topic);
            if (!p) continue;
            decay(t.first_deliveries, p->first_message_deliveries_decay, zero);
            decay(t.mesh_deliveries, p->mesh_message_deliveries_decay, zero);
            decay(t.mesh_failure_penalty, p->mesh_failure_penalty_decay, zero);
            decay(t.invalid_deliveries, p->invalid_message_deliveries_decay, zero);
            if (t.in_mesh) {
                t.mesh_time = now - t.graft_time;
                if (t.mesh_time > p->mesh_message_deliveries_activation) {
                    t.mesh_deliveries_active = true;
                }
            }
        }
        decay(stats.behaviour_penalty, m_params.behaviour_penalty_decay, zero);
        ++it;
    }
}

double PeerScore::ip_colocation(const PeerStats& stats) const {
    if (stats.ip.empty()) return 0;
    for (const auto& prefix : m_params.ip_colocation_whitelist) {
        if (stats.ip.starts_with(prefix)) return 0;
    }
    const auto it = m_ips.find(stats.ip);
    if (it == m_ips.end()) return 0;
    const double surplus =
        static_cast<double>(it->second.size()) - m_params.ip_colocation_factor_threshold;
    return surplus > 0 ? surplus * surplus : 0;
}

double PeerScore::score(const crypto::PeerId& peer) const {
    const auto it = m_peers.find(peer);
    if (it == m_peers.end()) return 0;
    const PeerStats& stats = it->second;
    double topics_score = 0;
    for (const auto& [topic, t] : stats.topics) {
        const TopicScoreParams* p = topic_params(topic);
        if (!p) continue;
        double s = 0;
        if (t.in_mesh) {
            const double p1 = std::min(static_cast<double>(t.mesh_time.count()) /
                                           static_cast<double>(p->time_in_mesh_quantum.count()),
                                       p->time_in_mesh_cap);
            s += p1 * p->time_in_mesh_weight;
        }
        s += t.first_deliveries * p->first_message_deliveries_weight;
        if (t.mesh_deliveries_active && t.mesh_deliveries < p->mesh_message_deliveries_threshold) {
            const double deficit = p->mesh_message_deliveries_threshold - t.mesh_deliveries;
            s += deficit * deficit * p->mesh_message_deliveries_weight;
        }
        s += t.mesh_failure_penalty * p->mesh_failure_penalty_weight;
        s += t.invalid_deliveries * t.invalid_deliveries * p->invalid_message_deliveries_weight;
        topics_score += s * p->topic_weight;
    }
    if (m_params.topic_score_cap > 0 && topics_score > m_params.topic_score_cap) {
        topics_score = m_params.topic_score_cap;
    }
    double score = topics_score;
    score += stats.app_score * m_params.app_specific_weight;
    score += ip_colocation(stats) * m_params.ip_colocation_factor_weight;
    if (stats.behaviour_penalty > m_params.behaviour_penalty_threshold) {
        const double excess = stats.behaviour_penalty - m_params.behaviour_penalty_threshold;
        score += excess * excess * m_params.behaviour_penalty_weight;
    }
    return score;
}

}  // namespace swarmd::net::gossipsub
