#include "node/zo/join.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <boost/asio/ip/address.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "net/host.hpp"
#include "node/zo/sync.hpp"
#include "training/params.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

std::vector<PeerBeat> join_voters(std::span<const PeerBeat> beats, const AddressOf& address_of,
                                  const ScoreOf& score_of) {
    std::vector<crypto::PeerId> peers;
    for (const auto& b : beats) peers.push_back(b.peer);
    const auto voters = select_voters(std::move(peers), address_of, score_of);
    std::vector<PeerBeat> out;
    for (const auto& b : beats)
        if (std::find(voters.begin(), voters.end(), b.peer) != voters.end()) out.push_back(b);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.peer < b.peer; });
    return out;
}

JoinPlan plan_join(std::span<const PeerBeat> beats, std::uint64_t own_round,
                   const JoinOptions& options) {
    JoinPlan plan;
    if (beats.empty()) return plan;
    std::vector<std::uint64_t> rounds;
    for (const auto& b : beats) rounds.push_back(b.round);
    std::nth_element(rounds.begin(),
                     rounds.begin() + static_cast<std::ptrdiff_t>(rounds.size() / 2), rounds.end());
    plan.swarm_round = rounds[rounds.size() / 2];

    const std::size_t need =
        std::max({std::size_t{1}, std::min(options.min_agree, beats.size()), beats.size() / 2 + 1});
    std::map<std::pair<std::uint64_t, crypto::Digest>, std::vector<crypto::PeerId>> announced;
    for (const auto& b : beats) {
        for (const auto& c : b.checkpoints) {
            auto& holders = announced[c];
            if (std::find(holders.begin(), holders.end(), b.peer) == holders.end())
                holders.push_back(b.peer);
        }
    }
    for (auto it = announced.rbegin(); it != announced.rend(); ++it) {  // newest round first
        if (it->first.first <= own_round || it->second.size() < need) continue;
        // Two hashes for one round, each with enough holders: the swarm disagrees; trust neither.
        auto other = std::find_if(announced.begin(), announced.end(), [&](const auto& e) {
            return e.first.first == it->first.first && e.first.second != it->first.second &&
                   e.second.size() >= need;
        });
        if (other != announced.end()) continue;
        plan.checkpoint = it->first;
        plan.holders = it->second;
        break;
    }
    return plan;
}

namespace {

asio::awaitable<std::optional<training::Checkpoint>> fetch_checkpoint(net::Host& host,
                                                                      const Bytes& swarm_id,
                                                                      const JoinPlan& plan,
                                                                      std::uint64_t n_params) {
    auto log = category_log("node");
    const auto round = plan.checkpoint->first;
    const auto hash = plan.checkpoint->second;
    const auto& holders = plan.holders;
    auto verified = [&](std::vector<float>& params,
                        std::uint64_t update_count) -> std::optional<training::Checkpoint> {
        if (params.size() != n_params || training::model_hash(params) != hash) return std::nullopt;
        return training::Checkpoint{round, update_count, hash, std::move(params)};
    };
    // Slices from different holders, so that no single donor carries the whole transfer.
    const std::size_t slices = std::min(holders.size(), JoinOptions::kMaxSlices);
    const std::uint64_t per = (n_params + slices - 1) / slices;
    std::vector<float> params;
    std::optional<std::uint64_t> update_count;
    bool ok = true;
    for (std::size_t i = 0; i < slices && ok; ++i) {
        const std::uint64_t offset = i * per;
        if (offset >= n_params) break;
        auto slice = co_await fetch_checkpoint_slice(host, holders[i], swarm_id, round, offset, per,
                                                     n_params);
        if (!slice || slice.value().model_hash != hash ||
            (update_count && *update_count != slice.value().update_count)) {
            log->debug("checkpoint slice {} failed: {} peer={}", i,
                       slice ? "hash or count differs" : slice.error().message(),
                       holders[i].to_base58());
            ok = false;
            break;
        }
        update_count = slice.value().update_count;
        params.insert(params.end(), slice.value().values.begin(), slice.value().values.end());
    }
    if (ok && update_count) {
        if (auto c = verified(params, *update_count)) co_return c;
        log->warn("checkpoint through round {} assembled from {} peers does not match its hash",
                  round, slices);
    }
    // Whole copies, one holder after the other, until one verifies.
    for (const auto& peer : holders) {
        auto whole =
            co_await fetch_checkpoint_slice(host, peer, swarm_id, round, 0, n_params, n_params);
        if (!whole) continue;
        if (auto c = verified(whole.value().values, whole.value().update_count)) co_return c;
        log->warn("checkpoint through round {} from peer {} does not match the announced hash",
                  round, peer.to_base58());
    }
    co_return std::nullopt;
}

}  // namespace

asio::awaitable<CatchUp> fetch_catch_up(net::Host& host, Bytes swarm_id,
                                        std::vector<PeerBeat> beats, JoinPlan plan,
                                        std::uint64_t own_round, JoinOptions options) {
    auto log = category_log("node");
    CatchUp out;
    out.round = plan.swarm_round;
    std::uint64_t after =
        own_round > 2 * options.staleness + 1 ? own_round - 2 * options.staleness - 1 : 0;
    if (plan.checkpoint) {
        out.checkpoint = co_await fetch_checkpoint(host, swarm_id, plan, options.n_params);
        if (out.checkpoint) {
            after = out.checkpoint->through_round;
        } else {
            log->warn(
                "no peer served a verifiable checkpoint through round {}; fetching the whole log",
                plan.checkpoint->first);
        }
    }
    // The log after `after`, in one round range per trainer; the last range is open-ended.
    const std::uint64_t through = options.merge_round;
    const std::uint64_t known = std::max(plan.swarm_round + options.staleness, after + 1);
    const std::size_t ranges = std::max<std::size_t>(1, beats.size());
    const std::uint64_t span = (known - after + ranges - 1) / ranges;
    for (std::size_t i = 0; i < ranges; ++i) {
        const std::uint64_t lo = after + i * span;
        const std::uint64_t hi = i + 1 == ranges ? through : std::min(through, lo + span);
        if (lo >= hi) continue;
        bool done = false;
        for (std::size_t k = 0; k < beats.size() && !done; ++k) {
            const auto& peer = beats[(i + k) % beats.size()].peer;
            auto updates = co_await fetch_updates(host, peer, swarm_id, hi, lo);
            if (!updates) {
                log->debug("sync of rounds ({}, {}] failed: {} peer={}", lo, hi,
                           updates.error().message(), peer.to_base58());
                continue;
            }
            log->debug("sync of rounds ({}, {}]: {} updates peer={}", lo, hi,
                       updates.value().size(), peer.to_base58());
            out.batches.push_back({peer, std::move(updates.value())});
            done = true;
        }
    }
    co_return out;
}

}  // namespace swarmd::node
