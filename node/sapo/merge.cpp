#include "node/sapo/merge.hpp"

#include <algorithm>
#include <cmath>

namespace swarmd::node {

std::size_t trimmed_per_side(std::size_t n, const MergeSpec& spec) {
    if (n == 0) return 0;
    const std::size_t most = (n - 1) / 2;
    switch (spec.rule) {
        case MergeRule::median:
            return most;
        case MergeRule::trimmed_mean: {
            const auto cut =
                static_cast<std::size_t>(std::ceil(spec.trim * static_cast<double>(n)));
            return std::min(cut, most);
        }
        case MergeRule::filtered_mean:
        case MergeRule::mean:
            break;
    }
    return 0;
}

namespace {

// The middle of sorted values: the mean of the two middle ones when their count is even.
double middle(const std::vector<double>& sorted) {
    const std::size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

// For each coordinate, the values of the chosen inputs sorted, `cut` dropped at each end, the
// rest averaged. Sorting makes the summation order a function of the values alone (-0 and +0
// compare equal and may swap, but neither changes a double sum's bits).
std::vector<float> trimmed(const std::vector<const std::vector<float>*>& inputs, std::size_t cut) {
    const std::size_t n = inputs.size();
    const std::size_t kept = n - 2 * cut;
    std::vector<float> merged(inputs.front()->size());
    std::vector<float> column(n);
    for (std::size_t i = 0; i < merged.size(); ++i) {
        for (std::size_t j = 0; j < n; ++j) column[j] = (*inputs[j])[i];
        std::sort(column.begin(), column.end());
        double sum = 0.0;
        for (std::size_t j = cut; j < cut + kept; ++j) sum += column[j];
        merged[i] = static_cast<float>(sum / static_cast<double>(kept));
    }
    return merged;
}

// The inputs whose L2 distance to the coordinate-wise median exceeds `factor` times the median
// distance. With fewer than half the inputs poisoned, the median and the median distance are
// set by honest inputs, so a poisoned input is either left out or within `factor` honest
// spreads of the median.
std::vector<std::size_t> outliers(const std::vector<const std::vector<float>*>& inputs,
                                  double factor) {
    const std::size_t n = inputs.size();
    const auto median = trimmed(inputs, (n - 1) / 2);
    std::vector<double> distance(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
        const auto& w = *inputs[j];
        double sum = 0.0;
        for (std::size_t i = 0; i < w.size(); ++i) {
            const double d = static_cast<double>(w[i]) - static_cast<double>(median[i]);
            sum += d * d;
        }
        distance[j] = std::sqrt(sum);
    }
    auto sorted = distance;
    std::sort(sorted.begin(), sorted.end());
    const double limit = factor * middle(sorted);
    std::vector<std::size_t> out;
    for (std::size_t j = 0; j < n; ++j) {
        if (distance[j] > limit) out.push_back(j);
    }
    return out;
}

}  // namespace

MergedWeights merge_weights(const std::vector<MergeInput>& inputs, const MergeSpec& spec) {
    MergedWeights out;
    if (inputs.empty()) return out;
    std::vector<const std::vector<float>*> all;
    for (const auto& input : inputs) all.push_back(input.weights.get());
    if (spec.rule != MergeRule::filtered_mean || all.size() < 3) {
        out.weights = trimmed(all, trimmed_per_side(all.size(), spec));
        return out;
    }
    out.outliers = outliers(all, spec.outlier);
    std::vector<const std::vector<float>*> kept;
    for (std::size_t j = 0; j < all.size(); ++j) {
        if (!std::binary_search(out.outliers.begin(), out.outliers.end(), j))
            kept.push_back(all[j]);
    }
    out.weights = trimmed(kept, 0);
    return out;
}

WeightsVerdict check_weights(const std::vector<float>& weights, std::uint64_t parameters,
                             float max_abs) {
    if (weights.size() != parameters) return WeightsVerdict::wrong_size;
    for (const float v : weights) {
        if (!std::isfinite(v)) return WeightsVerdict::not_finite;
        if (std::fabs(v) > max_abs) return WeightsVerdict::out_of_range;
    }
    return WeightsVerdict::accepted;
}

const char* to_string(WeightsVerdict v) {
    switch (v) {
        case WeightsVerdict::accepted:
            return "accepted";
        case WeightsVerdict::wrong_size:
            return "wrong_size";
        case WeightsVerdict::not_finite:
            return "not_finite";
        case WeightsVerdict::out_of_range:
            return "out_of_range";
    }
    return "unknown";
}

MergeCoordinator::MergeCoordinator(crypto::PeerId self, std::string policy,
                                   std::uint64_t parameters, std::uint64_t merge_round,
                                   Options options)
    : m_self(std::move(self)),
      m_policy(std::move(policy)),
      m_parameters(parameters),
      m_merge_round(merge_round),
      m_options(options) {}

bool MergeCoordinator::acceptable(const WeightsCommitment& c) const {
    return c.policy == m_policy && c.round == m_merge_round && c.parameters == m_parameters;
}

void MergeCoordinator::commit(SharedWeights weights, Clock::time_point now) {
    if (m_own || !weights || weights->size() != m_parameters) return;
    WeightsCommitment c{m_policy, m_merge_round, weights_hash(m_policy, *weights), m_parameters};
    m_weights[c.hash].weights = std::move(weights);
    m_own = c;
    m_committed_at = now;
}

MergeCoordinator::Peer* MergeCoordinator::track(const crypto::PeerId& peer, Clock::time_point now) {
    if (const auto it = m_peers.find(peer); it != m_peers.end()) return &it->second;
    if (m_peers.size() >= m_options.max_peers) {
        // Evict peers that left and whose weights we do not hold (those are merge inputs).
        std::erase_if(m_peers, [&](const auto& entry) {
            const Peer& p = entry.second;
            return now - p.last_heard > m_options.active &&
                   !(p.commitment && weights(p.commitment->hash));
        });
        if (m_peers.size() >= m_options.max_peers) return nullptr;
    }
    return &m_peers[peer];
}

bool MergeCoordinator::refused(const crypto::Digest& hash) const {
    const auto it = m_weights.find(hash);
    return it != m_weights.end() && it->second.refused;
}

void MergeCoordinator::heard(const crypto::PeerId& peer, const std::string& policy,
                             const std::optional<WeightsCommitment>& commitment,
                             const std::vector<crypto::PeerId>& merged_from,
                             Clock::time_point now) {
    if (peer == m_self || policy != m_policy) return;
    Peer* tracked = track(peer, now);
    if (!tracked) return;
    Peer& p = *tracked;
    p.last_heard = now;
    if (commitment && acceptable(*commitment)) p.commitment = commitment;
    p.merged_from = std::set<crypto::PeerId>(merged_from.begin(), merged_from.end());
}

void MergeCoordinator::committed(const crypto::PeerId& peer, const WeightsCommitment& commitment,
                                 Clock::time_point now) {
    if (peer == m_self || !acceptable(commitment)) return;
    Peer* tracked = track(peer, now);
    if (!tracked) return;
    Peer& p = *tracked;
    p.last_heard = now;
    p.commitment = commitment;
}

std::vector<MergeCoordinator::Fetch> MergeCoordinator::fetches(Clock::time_point now) {
    std::vector<Fetch> out;
    if (!m_own) return out;  // nothing is merged before our own weights are final
    for (const auto& [author, peer] : m_peers) {
        if (!peer.commitment) continue;
        Held& held = m_weights[peer.commitment->hash];
        if (held.weights || held.refused || held.in_flight || now < held.retry_at) continue;
        Fetch f{peer.commitment->hash, author, {author}};
        for (const auto& [other, p] : m_peers) {
            if (other == author || !p.merged_from.contains(author)) continue;
            auto& relayed = m_relayed[other];
            if (!relayed.contains(f.hash) && relayed.size() >= m_options.max_relayed_per_source)
                continue;
            relayed.insert(f.hash);
            f.sources.push_back(other);
        }
        held.in_flight = true;
        out.push_back(std::move(f));
    }
    return out;
}

WeightsVerdict MergeCoordinator::weights_arrived(const crypto::Digest& hash,
                                                 SharedWeights weights) {
    Held& held = m_weights[hash];
    held.in_flight = false;
    const auto verdict = weights ? check_weights(*weights, m_parameters, m_options.max_abs)
                                 : WeightsVerdict::wrong_size;
    if (verdict == WeightsVerdict::accepted) {
        held.weights = std::move(weights);
    } else {
        held.refused = true;
    }
    return verdict;
}

void MergeCoordinator::fetch_failed(const crypto::Digest& hash, Clock::time_point now) {
    Held& held = m_weights[hash];
    held.in_flight = false;
    held.retry_at = now + m_options.retry;
}

SharedWeights MergeCoordinator::weights(const crypto::Digest& hash) const {
    const auto it = m_weights.find(hash);
    return it == m_weights.end() ? nullptr : it->second.weights;
}

std::vector<crypto::PeerId> MergeCoordinator::pending(Clock::time_point now) const {
    std::vector<crypto::PeerId> out;
    for (const auto& [id, peer] : m_peers) {
        if (now - peer.last_heard > m_options.active) continue;           // left: not waited for
        if (peer.commitment && refused(peer.commitment->hash)) continue;  // served junk
        if (!peer.commitment || !weights(peer.commitment->hash)) out.push_back(id);
    }
    return out;
}

std::optional<std::vector<MergeInput>> MergeCoordinator::due(Clock::time_point now) {
    if (!m_own || m_merge_in_progress) return std::nullopt;
    if (!pending(now).empty() && now - m_committed_at < m_options.wait_for_peers)
        return std::nullopt;
    std::map<crypto::PeerId, crypto::Digest> set{{m_self, m_own->hash}};
    for (const auto& [id, peer] : m_peers) {
        if (peer.commitment && weights(peer.commitment->hash)) set[id] = peer.commitment->hash;
    }
    if (set == m_last_set) return std::nullopt;
    std::vector<MergeInput> inputs;
    for (const auto& [id, hash] : set) inputs.push_back({id, hash, weights(hash)});
    m_last_set = std::move(set);
    m_merge_in_progress = true;
    return inputs;
}

void MergeCoordinator::merged(std::vector<crypto::PeerId> participants,
                              const crypto::Digest& hash) {
    m_merge_in_progress = false;
    m_participants = std::move(participants);
    m_merged_hash = hash;
}

std::string MergeCoordinator::state() const {
    if (!m_own) return "training";
    return m_merged_hash && !m_merge_in_progress ? "merged" : "waiting";
}

}  // namespace swarmd::node
