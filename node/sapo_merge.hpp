#pragma once
// The SAPO final merge's bookkeeping for one architecture group, without I/O: which peers have
// committed (and to what hash), whose weights this node holds, which fetches to start, and when
// a merge is due. The daemon feeds it heartbeats, commitments and fetched weights, and carries
// out what it asks for over /swarmd/merge/1.0.0.
//
// Agreement without a coordinator: every node merges the union of the commitments whose weights
// it can get. A peer that is still heard from but has not committed is waited for, at most
// `wait_for_peers`; a peer that stopped being heard from is left out. A commitment learned later
// (a slow node, a copy another node fetched) is fetched and the merge is done again, so the
// nodes of a group converge on one participant set and one merged hash.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/peer_id.hpp"
#include "node/merge_protocol.hpp"

namespace swarmd::node {

struct MergeInput {
    crypto::PeerId peer;
    crypto::Digest hash{};
    SharedWeights weights;
};

// The uniform average of the inputs, summed in canonical order (sorted by peer id), so every
// node that averages the same set gets the same bits. All inputs must have the same size.
std::vector<float> average_weights(std::vector<MergeInput> inputs);

struct MergeCoordinatorOptions {
    using Duration = std::chrono::steady_clock::duration;
    static constexpr std::chrono::seconds kDefaultWaitForPeers{30};
    static constexpr std::chrono::seconds kDefaultActive{8};
    static constexpr std::chrono::seconds kDefaultRetry{2};

    Duration wait_for_peers = kDefaultWaitForPeers;  // after our commitment, at most
    Duration active = kDefaultActive;                // a peer heard from this recently is present
    Duration retry = kDefaultRetry;                  // between fetch attempts of the same weights
};

class MergeCoordinator {
  public:
    using Clock = std::chrono::steady_clock;
    using Options = MergeCoordinatorOptions;

    MergeCoordinator(crypto::PeerId self, std::string policy, std::uint64_t parameters,
                     std::uint64_t merge_round, Options options = {});

    // Our own weights at the merge round.
    void commit(SharedWeights weights, Clock::time_point now);
    // A peer was heard from (heartbeat) running `policy`; with its commitment once it has one,
    // and the peers whose weights it merged.
    void heard(const crypto::PeerId& peer, const std::string& policy,
               const std::optional<WeightsCommitment>& commitment,
               const std::vector<crypto::PeerId>& merged_from, Clock::time_point now);
    // A peer's own commitment, asked for directly.
    void committed(const crypto::PeerId& peer, const WeightsCommitment& commitment,
                   Clock::time_point now);

    struct Fetch {
        crypto::Digest hash{};
        crypto::PeerId author;
        std::vector<crypto::PeerId> sources;  // the author first, then peers that merged it
    };
    // Weights to fetch now; each is in flight until weights_arrived or fetch_failed.
    std::vector<Fetch> fetches(Clock::time_point now);
    // Verified weights (the fetch checked the hash).
    void weights_arrived(const crypto::Digest& hash, SharedWeights weights);
    void fetch_failed(const crypto::Digest& hash, Clock::time_point now);

    // The inputs of a merge when one is due: the set is complete (or the wait is over) and it
    // differs from the last merged one.
    std::optional<std::vector<MergeInput>> due(Clock::time_point now);
    // The merge of `participants` was written with `hash`.
    void merged(std::vector<crypto::PeerId> participants, const crypto::Digest& hash);

    // For /swarmd/merge/1.0.0.
    std::optional<WeightsCommitment> own_commitment() const { return m_own; }
    SharedWeights weights(const crypto::Digest& hash) const;

    bool has_committed() const noexcept { return m_own.has_value(); }
    std::string state() const;  // "training", "waiting", "merged"
    const std::vector<crypto::PeerId>& participants() const noexcept { return m_participants; }
    std::optional<crypto::Digest> merged_hash() const { return m_merged_hash; }
    // Peers of our group heard from recently that we still wait for.
    std::vector<crypto::PeerId> pending(Clock::time_point now) const;

  private:
    struct Peer {
        Clock::time_point last_heard{};
        std::optional<WeightsCommitment> commitment;
        std::set<crypto::PeerId> merged_from;
    };
    struct Held {
        SharedWeights weights;
        bool in_flight = false;
        Clock::time_point retry_at{};
    };
    bool acceptable(const WeightsCommitment& c) const;

    crypto::PeerId m_self;
    std::string m_policy;
    std::uint64_t m_parameters;
    std::uint64_t m_merge_round;
    Options m_options;
    std::optional<WeightsCommitment> m_own;
    Clock::time_point m_committed_at{};
    std::map<crypto::PeerId, Peer> m_peers;  // our architecture group only
    std::map<crypto::Digest, Held> m_weights;
    std::map<crypto::PeerId, crypto::Digest> m_last_set;
    std::vector<crypto::PeerId> m_participants;
    std::optional<crypto::Digest> m_merged_hash;
    bool m_merge_in_progress = false;
};

}  // namespace swarmd::node
