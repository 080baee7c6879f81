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
#include "node/sapo/merge_protocol.hpp"
#include "node/spec/spec.hpp"

namespace swarmd::node {

struct MergeInput {
    crypto::PeerId peer;
    crypto::Digest hash{};
    SharedWeights weights;
};

// Values cut from each end of one coordinate's n sorted values by trimmed_mean: ceil(trim * n),
// never more than (n - 1) / 2 (the median's count); none under the other rules.
std::size_t trimmed_per_side(std::size_t n, const MergeSpec& spec);

struct MergedWeights {
    std::vector<float> weights;
    // Inputs left out as outliers by filtered_mean, as indices into the inputs given.
    std::vector<std::size_t> outliers;
};

// The merged weights under spec.rule (node/spec/spec.hpp). Every sum is taken in double over
// values sorted per coordinate, and every choice depends on the values alone, so the result is
// the same bits whatever the order of the inputs: every node that merges the same set agrees.
// All inputs must have the same size. filtered_mean with fewer than three inputs is the mean
// (two cannot outvote each other).
MergedWeights merge_weights(const std::vector<MergeInput>& inputs, const MergeSpec& spec);

// Whether fetched weights may enter the average. The hash only proves that the author
// committed to these values, not that they are sane: one peer serving NaN, infinity or 1e30
// would ruin the whole group's merged model, so such weights are refused; merge_weights' robust
// rules bound what outliers within range can do.
enum class WeightsVerdict { accepted, wrong_size, not_finite, out_of_range };
WeightsVerdict check_weights(const std::vector<float>& weights, std::uint64_t parameters,
                             float max_abs);
const char* to_string(WeightsVerdict v);

struct MergeCoordinatorOptions {
    using Duration = std::chrono::steady_clock::duration;
    static constexpr std::chrono::seconds kDefaultWaitForPeers{30};
    static constexpr std::chrono::seconds kDefaultActive{8};
    static constexpr std::chrono::seconds kDefaultRetry{2};
    // Far above any trained policy's weights (they stay within a few units), far below what
    // overflows a float sum over thousands of peers.
    static constexpr float kDefaultMaxAbs = 1e4f;
    static constexpr std::size_t kDefaultMaxPeers = 1024;
    static constexpr std::size_t kDefaultMaxRelayedPerSource = 64;

    Duration wait_for_peers = kDefaultWaitForPeers;  // after our commitment, at most
    Duration active = kDefaultActive;                // a peer heard from this recently is present
    Duration retry = kDefaultRetry;                  // between fetch attempts of the same weights
    float max_abs = kDefaultMaxAbs;                  // a weight beyond this refuses the whole set
    // Peers of the group tracked at once. A new peer beyond this first evicts peers no longer
    // heard from; if every tracked peer is live it is not tracked (and not waited for).
    std::size_t max_peers = kDefaultMaxPeers;
    // Authors other than itself whose weights one peer is asked for (it says it merged them).
    // Authors are free to make up, so without it one connection could have this node fetch and
    // hold the weights of any number of "merged" identities; an author is always asked itself.
    std::size_t max_relayed_per_source = kDefaultMaxRelayedPerSource;
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
    // Weights whose hash the fetch checked. Refused weights (see check_weights) are never
    // fetched again, and the peer that committed to them is no longer waited for.
    WeightsVerdict weights_arrived(const crypto::Digest& hash, SharedWeights weights);
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
    std::size_t tracked_peers() const noexcept { return m_peers.size(); }

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
        bool refused = false;
    };
    bool acceptable(const WeightsCommitment& c) const;
    // The entry of `peer`, or null when the table is full of live peers.
    Peer* track(const crypto::PeerId& peer, Clock::time_point now);
    bool refused(const crypto::Digest& hash) const;

    crypto::PeerId m_self;
    std::string m_policy;
    std::uint64_t m_parameters;
    std::uint64_t m_merge_round;
    Options m_options;
    std::optional<WeightsCommitment> m_own;
    Clock::time_point m_committed_at{};
    std::map<crypto::PeerId, Peer> m_peers;  // our architecture group only
    std::map<crypto::Digest, Held> m_weights;
    std::map<crypto::PeerId, std::set<crypto::Digest>> m_relayed;  // per source, weights asked for
    std::map<crypto::PeerId, crypto::Digest> m_last_set;
    std::vector<crypto::PeerId> m_participants;
    std::optional<crypto::Digest> m_merged_hash;
    bool m_merge_in_progress = false;
};

}  // namespace swarmd::node
