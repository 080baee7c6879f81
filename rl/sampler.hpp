#pragma once
// The receiving side of SAPO: a bounded pool of external rollout groups (round window,
// de-duplication, per-batch validation, rewards recomputed locally) and the sampler that picks
// the J external groups a node trains on next to its I local ones.
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "rl/rng.hpp"
#include "rl/wire.hpp"

namespace swarmd::rl {

// A group ready to train on: its prompt regenerated and its rewards recomputed here.
struct ScoredGroup {
    std::string author;
    std::uint64_t round = 0;
    RolloutGroup group;
    std::string prompt;
    std::vector<float> rewards;
    bool external = false;

    float mean_reward() const noexcept;
    bool has_variance() const noexcept;
};

// Regenerates the task and verifies every completion; claimed rewards are not used.
Result<ScoredGroup> score_group(RolloutGroup group, std::string author, std::uint64_t round);

// A decoded batch whose every reward was recomputed here: what a gossip validator checks before
// a batch is forwarded, and what the pool takes in.
struct CheckedBatch {
    std::string author;
    std::uint64_t round = 0;
    std::vector<ScoredGroup> groups;  // external = true
    std::size_t lied = 0;             // groups whose claimed rewards differ from ours
};

// Decodes (within the limits) and scores every group.
Result<CheckedBatch> check_batch(ByteSpan bytes, const WireLimits& limits);

struct PoolOptions {
    static constexpr std::uint64_t kDefaultRoundWindow = 1;
    static constexpr std::size_t kDefaultMaxGroups = 4096;

    std::uint64_t round_window = kDefaultRoundWindow;  // accept rounds [current - window, current]
    // Rounds ahead of the current one that are kept for later (nodes that advance at their own
    // pace); 0 for a synchronous swarm.
    std::uint64_t future_window = 0;
    std::size_t max_groups = kDefaultMaxGroups;  // oldest groups are evicted beyond this
    bool drop_on_claim_mismatch = true;          // a group whose claimed rewards lie is dropped
    WireLimits limits{};
};

struct PoolStats {
    std::size_t batches = 0;
    std::size_t accepted = 0;   // groups
    std::size_t stale = 0;      // groups of batches outside the round window
    std::size_t duplicate = 0;  // groups already seen from that author
    std::size_t malformed = 0;  // batches that failed to decode
    std::size_t lied = 0;       // groups whose claimed rewards differ from the recomputed ones
    std::size_t own = 0;        // batches that came back from this node itself
};

class RolloutPool {
  public:
    RolloutPool(std::string self, PoolOptions options = {});

    // Moves the window to `round` and forgets groups that fell out of it.
    void set_round(std::uint64_t round);
    // Decodes, validates and scores a batch; returns how many groups it added.
    Result<std::size_t> add_batch(ByteSpan bytes);
    // The same for a batch already checked (by a gossip validator).
    std::size_t add_checked(CheckedBatch batch);

    // Removes the groups at `indices` (into groups()): trained on, not to be picked again.
    void erase(std::vector<std::size_t> indices);

    const std::vector<ScoredGroup>& groups() const noexcept { return m_groups; }
    const PoolStats& stats() const noexcept { return m_stats; }

  private:
    bool in_window(std::uint64_t round) const noexcept;

    std::string m_self;
    PoolOptions m_options;
    std::uint64_t m_round = 0;
    std::vector<ScoredGroup> m_groups;
    std::set<std::tuple<std::string, std::uint64_t, TaskId>> m_seen;
    PoolStats m_stats;
};

enum class Selection {
    uniform,         // as in the paper: J groups uniformly from the pool
    variance_first,  // groups whose rewards are not all equal first (the rest carry no gradient)
    rare_success,    // groups with variance, fewest successes first: rare wins spread fastest
    most_signal,     // groups with variance, highest reward variance first (binary rewards: the
                     // split closest to half), i.e. the largest total |advantage| per group
};

std::string_view selection_name(Selection s) noexcept;

struct SamplerOptions {
    static constexpr std::size_t kDefaultLocal = 4;
    static constexpr std::size_t kDefaultExternal = 4;

    std::size_t local = kDefaultLocal;        // I
    std::size_t external = kDefaultExternal;  // J
    Selection selection = Selection::variance_first;
    std::size_t max_per_author = 0;  // 0: no cap on one author's share of J
};

// Indices into `pool` of at most options.external groups, per the selection strategy.
std::vector<std::size_t> select_external(const std::vector<ScoredGroup>& pool,
                                         const SamplerOptions& options, Rng& rng);

}  // namespace swarmd::rl
