#pragma once
// Joining a ZO swarm late, or after a restart: from what trainers' heartbeats announce, decide
// how far behind this node is and which canonical checkpoint several peers agree on; then fetch
// that checkpoint in slices and the log after it in round ranges, each from a different peer,
// over /swarmd/sync/1.0.0, verifying the checkpoint against the announced hash.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "node/core/voters.hpp"
#include "node/zo/engine.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

// What one trainer's recent heartbeat announced.
struct PeerBeat {
    crypto::PeerId peer;
    std::uint64_t round = 0;
    std::vector<std::pair<std::uint64_t, crypto::Digest>> checkpoints;
};

// The beats a join may count: those of the voters node/core/voters.hpp selects.
std::vector<PeerBeat> join_voters(std::span<const PeerBeat> beats, const AddressOf& address_of,
                                  const ScoreOf& score_of);

struct JoinPlan {
    std::uint64_t swarm_round = 0;  // median of the announced rounds
    // The newest checkpoint that a majority of the voters (and at least min_agree of them)
    // announced with the same hash, and them.
    std::optional<std::pair<std::uint64_t, crypto::Digest>> checkpoint;
    std::vector<crypto::PeerId> holders;
};

struct JoinOptions {
    static constexpr std::size_t kDefaultMinAgree = 2;
    static constexpr std::size_t kMaxSlices = 4;

    std::size_t min_agree =
        kDefaultMinAgree;  // peers whose hashes must match (fewer only if the swarm is smaller)
    std::uint64_t staleness = 4;
    std::uint64_t merge_round = 0;
    std::uint64_t n_params = 0;
};

// Pure: the plan for a node whose next round is own_round, from the voters' beats (join_voters).
// A checkpoint is chosen only when it is ahead of own_round and more than half of the voters,
// and at least min_agree of them, announce it (every one of them when fewer than min_agree).
JoinPlan plan_join(std::span<const PeerBeat> beats, std::uint64_t own_round,
                   const JoinOptions& options);

// Carries out the plan: the checkpoint (if any) in slices spread over its holders, verified by
// hash (falling back to whole copies from each holder in turn), then the log from the checkpoint
// (or from a little before own_round) split into round ranges over every trainer. A range whose
// peer fails is asked of the next. Never throws; what could not be fetched is simply absent.
// The log ranges come back per peer, unverified: ZoEngine::catch_up verifies every record.
boost::asio::awaitable<CatchUp> fetch_catch_up(net::Host& host, Bytes swarm_id,
                                               std::vector<PeerBeat> beats, JoinPlan plan,
                                               std::uint64_t own_round, JoinOptions options);

}  // namespace swarmd::node
