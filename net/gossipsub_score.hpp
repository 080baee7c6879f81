#pragma once
// Gossipsub v1.1 peer scoring (gossipsub-v1.1.md §Peer Scoring):
//   score = min(TopicCap, Σ_t w_t·(w1·P1 + w2·P2 + w3·P3 + w3b·P3b + w4·P4)) + w5·P5 + w6·P6 + w7·P7
// P1 time in mesh, P2 first deliveries, P3 mesh delivery deficit², P3b sticky deficit² at prune,
// P4 invalid deliveries², P5 application score, P6 same-IP surplus², P7 behaviour penalty excess².
// Counters decay every decay_interval; the score of a disconnected peer is kept for retain_score
// when it is not positive, so leaving and coming back does not wash it.
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crypto/peer_id.hpp"

namespace swarmd::net::gossipsub {

using Time = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

struct TopicScoreParams {
    // Defaults: a topic whose rate the router cannot know, so the rate-dependent mesh delivery
    // terms (P3, P3b) are off and the rest rewards staying and delivering first, and punishes
    // invalid messages hard.
    static constexpr double kTopicWeight = 1.0;
    static constexpr double kTimeInMeshWeight = 1.0 / 360.0;  // at most +10 after an hour
    static constexpr double kTimeInMeshCap = 3600.0;
    static constexpr double kFirstDeliveriesWeight = 1.0;
    static constexpr double kFirstDeliveriesDecay = 0.9997;  // half-life ≈ 38 min at 1 s decay
    static constexpr double kFirstDeliveriesCap = 100.0;
    static constexpr double kInvalidWeight = -100.0;  // 1 invalid: -100, 10 invalid: -10000
    static constexpr double kInvalidDecay = 0.9994;  // half-life ≈ 19 min

    double topic_weight = kTopicWeight;
    double time_in_mesh_weight = kTimeInMeshWeight;
    Duration time_in_mesh_quantum = std::chrono::seconds(1);
    double time_in_mesh_cap = kTimeInMeshCap;
    double first_message_deliveries_weight = kFirstDeliveriesWeight;
    double first_message_deliveries_decay = kFirstDeliveriesDecay;
    double first_message_deliveries_cap = kFirstDeliveriesCap;
    double mesh_message_deliveries_weight = 0.0;  // negative to enable P3
    double mesh_message_deliveries_decay = 0.97;
    double mesh_message_deliveries_cap = 100.0;
    double mesh_message_deliveries_threshold = 1.0;
    Duration mesh_message_deliveries_window = std::chrono::milliseconds(5);
    Duration mesh_message_deliveries_activation = std::chrono::seconds(60);
    double mesh_failure_penalty_weight = 0.0;  // negative to enable P3b
    double mesh_failure_penalty_decay = 0.97;
    double invalid_message_deliveries_weight = kInvalidWeight;
    double invalid_message_deliveries_decay = kInvalidDecay;
};

struct ScoreParams {
    static constexpr double kTopicScoreCap = 100.0;
    static constexpr double kIpColocationWeight = -10.0;
    static constexpr double kIpColocationThreshold = 10.0;
    static constexpr double kBehaviourPenaltyWeight = -10.0;
    static constexpr double kBehaviourPenaltyThreshold = 6.0;
    static constexpr double kBehaviourPenaltyDecay = 0.99;
    static constexpr double kDecayToZero = 0.01;

    // Topics without an entry use default_topic (set its topic_weight to 0 to score only the
    // listed topics).
    std::unordered_map<std::string, TopicScoreParams> topics;
    TopicScoreParams default_topic;
    double topic_score_cap = kTopicScoreCap;  // 0: no cap
    double app_specific_weight = 1.0;
    double ip_colocation_factor_weight = kIpColocationWeight;
    double ip_colocation_factor_threshold = kIpColocationThreshold;
    // Address prefixes exempt from P6 (many local processes share loopback).
    std::vector<std::string> ip_colocation_whitelist = {"127.", "::1"};
    double behaviour_penalty_weight = kBehaviourPenaltyWeight;
    double behaviour_penalty_threshold = kBehaviourPenaltyThreshold;
    double behaviour_penalty_decay = kBehaviourPenaltyDecay;
    Duration decay_interval = std::chrono::seconds(1);
    double decay_to_zero = kDecayToZero;
    Duration retain_score = std::chrono::minutes(10);
};

struct ScoreThresholds {
    double gossip = -4000.0;    // below: no gossip to or from the peer
    double publish = -5000.0;   // below: no flood publishing / fanout to the peer
    double graylist = -10000.0; // below: every RPC from the peer is ignored
    double accept_px = 0.0;     // PX from a pruning peer is followed only at or above this
    double opportunistic_graft = 1.0;  // median mesh score below this triggers grafting
};

class PeerScore {
public:
    explicit PeerScore(ScoreParams params) : m_params(std::move(params)) {}

    void add_peer(const crypto::PeerId& peer, const std::string& ip, Time now);
    void remove_peer(const crypto::PeerId& peer, Time now);
    void graft(const crypto::PeerId& peer, const std::string& topic, Time now);
    void prune(const crypto::PeerId& peer, const std::string& topic);
    // First valid delivery of a message (P2, and P3 when in the mesh).
    void first_delivery(const crypto::PeerId& peer, const std::string& topic);
    // A duplicate of a valid message, validated at `validated` (P3 inside the delivery window).
    void duplicate_delivery(const crypto::PeerId& peer, const std::string& topic, Time validated,
                            Time now);
    void invalid_delivery(const crypto::PeerId& peer, const std::string& topic);
    void add_penalty(const crypto::PeerId& peer, double count);
    void set_app_score(const crypto::PeerId& peer, double score);
    // Decays counters when a decay interval has passed and drops expired retained scores.
    void refresh(Time now);

    double score(const crypto::PeerId& peer) const;
    std::size_t tracked_peers() const noexcept { return m_peers.size(); }

private:
    struct TopicStats {
        bool in_mesh = false;
        Time graft_time{};
        Duration mesh_time{};
        double first_deliveries = 0;
        double mesh_deliveries = 0;
        bool mesh_deliveries_active = false;
        double mesh_failure_penalty = 0;
        double invalid_deliveries = 0;
    };
    struct PeerStats {
        bool connected = false;
        Time expire{};
        std::unordered_map<std::string, TopicStats> topics;
        std::string ip;
        double behaviour_penalty = 0;
        double app_score = 0;
    };

    const TopicScoreParams* topic_params(const std::string& topic) const;
    TopicStats* topic_stats(const crypto::PeerId& peer, const std::string& topic);
    double ip_colocation(const PeerStats& stats) const;
    void forget_ip(const crypto::PeerId& peer, const std::string& ip);

    ScoreParams m_params;
    std::unordered_map<crypto::PeerId, PeerStats> m_peers;
    std::unordered_map<std::string, std::unordered_set<crypto::PeerId>> m_ips;
    Time m_last_decay{};
};

}  // namespace swarmd::net::gossipsub
