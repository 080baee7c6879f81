#include "rl/sampler.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "rl/error.hpp"
#include "rl/log.hpp"

namespace swarmd::rl {
namespace {

// An author id as it may appear in a log line: a peer chooses these bytes, so anything outside
// printable ASCII is shown as \xNN.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace

float ScoredGroup::mean_reward() const noexcept {
    if (rewards.empty()) return 0.0f;
    float sum = 0.0f;
    for (float r : rewards) sum += r;
    return sum / static_cast<float>(rewards.size());
}

bool ScoredGroup::has_variance() const noexcept {
    return std::any_of(rewards.begin(), rewards.end(),
                       [&](float r) { return r != rewards.front(); });
}

Result<ScoredGroup> score_group(RolloutGroup group, std::string author, std::uint64_t round) {
    BOOST_OUTCOME_TRY(problem, generate(group.task));
    ScoredGroup out;
    out.author = std::move(author);
    out.round = round;
    out.prompt = problem.prompt;
    out.rewards.reserve(group.completions.size());
    for (const auto& c : group.completions) {
        out.rewards.push_back(verify(problem, decode_text(c.tokens)));
    }
    out.group = std::move(group);
    return out;
}

RolloutPool::RolloutPool(std::string self, PoolOptions options)
    : m_self(std::move(self)), m_options(options) {}

bool RolloutPool::in_window(std::uint64_t round) const noexcept {
    if (round > m_round) return round - m_round <= m_options.future_window;
    return m_round - round <= m_options.round_window;
}

void RolloutPool::set_round(std::uint64_t round) {
    m_round = round;
    std::erase_if(m_groups, [&](const ScoredGroup& g) { return !in_window(g.round); });
    for (auto it = m_seen.begin(); it != m_seen.end();) {
        it = in_window(std::get<1>(*it)) ? std::next(it) : m_seen.erase(it);
    }
}

Result<CheckedBatch> check_batch(ByteSpan bytes, const WireLimits& limits) {
    BOOST_OUTCOME_TRY(batch, decode_batch(bytes, limits));
    CheckedBatch out;
    out.author = std::move(batch.author);
    out.round = batch.round;
    out.groups.reserve(batch.groups.size());
    for (auto& group : batch.groups) {
        BOOST_OUTCOME_TRY(scored, score_group(std::move(group), out.author, out.round));
        bool lied = false;
        for (std::size_t i = 0; i < scored.rewards.size(); ++i) {
            lied |= scored.group.completions[i].claimed_reward != scored.rewards[i];
        }
        out.lied += lied ? 1 : 0;
        scored.external = true;
        out.groups.push_back(std::move(scored));
    }
    return out;
}

Result<std::size_t> RolloutPool::add_batch(ByteSpan bytes) {
    auto checked = check_batch(bytes, m_options.limits);
    if (!checked) {
        ++m_stats.batches;
        ++m_stats.malformed;
        rl_log().debug("rollout batch rejected reason={} bytes={} self={}",
                       checked.error().message(), bytes.size(), printable(m_self));
        return checked.error();
    }
    return add_checked(std::move(checked.value()));
}

std::size_t RolloutPool::add_checked(CheckedBatch batch) {
    ++m_stats.batches;
    if (batch.author == m_self) {
        ++m_stats.own;
        return 0;
    }
    if (!in_window(batch.round)) {
        m_stats.stale += batch.groups.size();
        rl_log().debug(
            "rollout batch rejected reason=stale round={} current={} window={} author={}",
            batch.round, m_round, m_options.round_window, printable(batch.author));
        return 0;
    }
    std::size_t added = 0, duplicate = 0, lied_groups = 0;
    for (auto& g : batch.groups) {
        if (!m_seen.emplace(batch.author, batch.round, g.group.task).second) {
            ++m_stats.duplicate;
            ++duplicate;
            continue;
        }
        bool lied = false;
        for (std::size_t i = 0; i < g.rewards.size(); ++i) {
            lied |= g.group.completions[i].claimed_reward != g.rewards[i];
        }
        if (lied) {
            ++m_stats.lied;
            ++lied_groups;
            if (m_options.drop_on_claim_mismatch) continue;
        }
        m_groups.push_back(std::move(g));
        ++added;
    }
    m_stats.accepted += added;
    if (duplicate + lied_groups > 0) {
        rl_log().debug(
            "rollout groups rejected author={} round={} duplicate={} "
            "claimed_rewards_wrong={}{} accepted={} of {}",
            printable(batch.author), batch.round, duplicate, lied_groups,
            m_options.drop_on_claim_mismatch ? "" : " (kept)", added, batch.groups.size());
    }
    if (m_groups.size() > m_options.max_groups) {
        m_groups.erase(
            m_groups.begin(),
            m_groups.begin() + static_cast<std::ptrdiff_t>(m_groups.size() - m_options.max_groups));
    }
    return added;
}

void RolloutPool::erase(std::vector<std::size_t> indices) {
    std::sort(indices.begin(), indices.end(), std::greater<>());
    indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
    for (std::size_t i : indices) {
        if (i < m_groups.size()) m_groups.erase(m_groups.begin() + static_cast<std::ptrdiff_t>(i));
    }
}

std::string_view selection_name(Selection s) noexcept {
    switch (s) {
        case Selection::uniform:
            return "uniform";
        case Selection::variance_first:
            return "variance";
        case Selection::rare_success:
            return "rare";
        case Selection::most_signal:
            return "signal";
    }
    return "?";
}

std::vector<std::size_t> select_external(const std::vector<ScoredGroup>& pool,
                                         const SamplerOptions& options, Rng& rng) {
    std::vector<std::size_t> order(pool.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Fisher-Yates with our own RNG: the choice is reproducible from the node's seed.
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);

    if (options.selection != Selection::uniform) {
        // Stable sorts keep the random order among equals.
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const bool va = pool[a].has_variance();
            const bool vb = pool[b].has_variance();
            if (va != vb) return va;
            if (options.selection == Selection::rare_success && va) {
                return pool[a].mean_reward() < pool[b].mean_reward();
            }
            if (options.selection == Selection::most_signal && va) {
                const float ma = pool[a].mean_reward(), mb = pool[b].mean_reward();
                return ma * (1.0f - ma) > mb * (1.0f - mb);
            }
            return false;
        });
    }

    std::vector<std::size_t> picked;
    std::map<std::string_view, std::size_t> per_author;
    for (std::size_t i : order) {
        if (picked.size() >= options.external) break;
        if (options.max_per_author > 0 && per_author[pool[i].author] >= options.max_per_author) {
            continue;
        }
        ++per_author[pool[i].author];
        picked.push_back(i);
    }
    return picked;
}

}  // namespace swarmd::rl
