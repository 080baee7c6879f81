#include "node/core/pacing.hpp"

#include <algorithm>
#include <iterator>

namespace swarmd::node {

void PacingFloor::note(const crypto::PeerId& peer, std::uint64_t round, Clock::time_point now) {
    auto [it, fresh] = m_peers.try_emplace(peer, Progress{round, now});
    if (!fresh && round > it->second.round) it->second = {round, now};
}

std::optional<std::uint64_t> PacingFloor::floor(
    Clock::time_point now, Clock::duration active,
    const std::function<bool(const crypto::PeerId&)>& counts) const {
    auto slow = slowest(now, active, counts);
    if (!slow) return std::nullopt;
    return slow->second;
}

std::optional<std::pair<crypto::PeerId, std::uint64_t>> PacingFloor::slowest(
    Clock::time_point now, Clock::duration active,
    const std::function<bool(const crypto::PeerId&)>& counts) const {
    std::optional<std::pair<crypto::PeerId, std::uint64_t>> out;
    for (const auto& [peer, p] : m_peers) {
        if (now - p.advanced > active || !counts(peer)) continue;
        if (!out || p.round < out->second) out = {peer, p.round};
    }
    return out;
}

std::optional<std::uint64_t> PacingFloor::latest(const crypto::PeerId& peer) const {
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return std::nullopt;
    return it->second.round;
}

void PacingFloor::forget_if(const std::function<bool(const crypto::PeerId&)>& gone) {
    std::erase_if(m_peers, [&](const auto& entry) { return gone(entry.first); });
}

}  // namespace swarmd::node
