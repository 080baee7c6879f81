#pragma once
// Self-pacing without a barrier, for both modes: a node waits while it is too far ahead of the
// slowest peer that still makes progress. Only progress counts as life (a round heard again does
// not renew it), and only the peers the caller counts (the modes count direct connections, which
// the joiner bounds; identities cost nothing), so that nobody can pin a node's pace by repeating
// an old round from many made-up identities. SAPO notes connected authors' batches and
// heartbeats; ZO's update admission (node/zo/admission.hpp) notes the authors it tracks.
// Sans-I/O: the caller passes the time.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "crypto/peer_id.hpp"

namespace swarmd::node {

class PacingFloor {
  public:
    using Clock = std::chrono::steady_clock;

    // `peer` was heard at `round`.
    void note(const crypto::PeerId& peer, std::uint64_t round, Clock::time_point now);
    // The lowest latest round among the peers `counts` accepts whose round advanced within
    // `active`; none when there is no such peer.
    std::optional<std::uint64_t> floor(
        Clock::time_point now, Clock::duration active,
        const std::function<bool(const crypto::PeerId&)>& counts) const;
    // The peer that sets floor() and its round.
    std::optional<std::pair<crypto::PeerId, std::uint64_t>> slowest(
        Clock::time_point now, Clock::duration active,
        const std::function<bool(const crypto::PeerId&)>& counts) const;
    // The latest round noted for `peer`, if it is in the table.
    std::optional<std::uint64_t> latest(const crypto::PeerId& peer) const;
    void forget(const crypto::PeerId& peer) { m_peers.erase(peer); }
    // Drops the peers `gone` names (disconnected): the table holds at most the peers noted since.
    void forget_if(const std::function<bool(const crypto::PeerId&)>& gone);
    std::size_t size() const noexcept { return m_peers.size(); }

  private:
    struct Progress {
        std::uint64_t round = 0;
        Clock::time_point advanced;
    };
    std::map<crypto::PeerId, Progress> m_peers;
};

}  // namespace swarmd::node
