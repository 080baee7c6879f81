#pragma once
// Which ZO updates from gossip a node takes in, bounded so that a flood of fake authors (a Sybil
// flood: peer ids cost nothing to make) cannot grow memory or the update log without bound.
//
// - Staleness window: an update is taken only when its round is within `window` rounds of the
//   receiver's view (its own round), on either side. Pacing keeps honest nodes inside it.
// - Per-author cap: at most `directions` updates per author and round, so an author adds at most
//   directions * (2 * window + 1) updates per window, however many messages it sends.
// - Author cap: at most `max_authors` authors are tracked. Authors that fell behind the window
//   or went quiet make room; when every slot holds an active author, a newcomer takes the slot
//   of the tracked author of the worst rank (its work ticket, training/author_ticket.hpp) if it
//   ranks better, and is refused otherwise. A slot is thus kept by work, not by arriving
//   first, and identities made for free (no better ticket) never push an author out.
// Every message of a tracked author, taken or not, moves its latest round forward: that is what
// pacing (floor()) reads, so that fast nodes wait for one that fell behind the window. Only
// progress counts as life: an author holds others back only while its latest round advances,
// and only when the caller counts it (the daemon counts directly connected peers), so that
// identities made for free cannot pin the floor by repeating an old round. An author that goes
// over its cap (it signed more updates for a round than it may) is left out of the floor for
// `unpaced_for`: a flood of fresh messages must not slow the nodes it floods.
// The pacing budget (pace()): while a node waits at the floor, the author holding it is charged
// the time. One charged more than `held_share` of `held_window` (a decaying sum) is left out of
// the floor for `unpaced_for` too: a node spends at most about that share of its time waiting
// for any one author, be it an honest node on a slow link or an attacker that stays just behind
// (it cannot be told from a slow node). Its updates still count: those that arrive late are
// fetched by the checkpoint reconciles and the merge.
// Sans-I/O: the caller passes the view and the time. The merge's anti-entropy does not pass
// here; it is bounded per request by the sync protocol's caps.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "node/core/pacing.hpp"

namespace swarmd::node {

struct AdmissionOptions {
    static constexpr std::size_t kDefaultMaxAuthors = 256;
    static constexpr std::chrono::seconds kDefaultQuietAfter{10};

    std::uint64_t window = 4;      // the spec's staleness
    std::uint32_t directions = 1;  // the spec's directions per round
    std::size_t max_authors = kDefaultMaxAuthors;
    std::chrono::milliseconds quiet_after =
        kDefaultQuietAfter;  // an author silent this long frees its slot
    static constexpr std::chrono::minutes kDefaultUnpacedFor{10};
    std::chrono::milliseconds unpaced_for = kDefaultUnpacedFor;  // after going over its cap
    static constexpr std::chrono::seconds kDefaultHeldWindow{60};
    std::chrono::milliseconds held_window = kDefaultHeldWindow;  // the pacing budget's span
    double held_share = 0.5;  // of held_window one author may keep this node waiting
};

// What pace() decided: the floor, and the author it stopped waiting for, if any.
struct Pace {
    std::uint64_t floor = 0;
    std::optional<crypto::PeerId> released;
};

enum class Admit {
    accept,
    stale,     // older than the window
    future,    // newer than the window
    over_cap,  // the author already sent `directions` updates for this round
    full,      // no slot for a new author
};

class UpdateAdmission {
  public:
    using Clock = std::chrono::steady_clock;

    explicit UpdateAdmission(AdmissionOptions options) : m_options(options) {}

    // The rank of an author without a ticket: after every other.
    static constexpr crypto::Digest kNoRank = [] {
        crypto::Digest d{};
        for (auto& b : d) b = 0xff;
        return d;
    }();

    // `view` 0 means the receiver has no view yet (not training): only the caps apply. `rank`
    // is the author's ticket hash (lower ranks first); an author keeps the best it showed.
    Admit admit(const crypto::PeerId& author, std::uint64_t round, std::uint64_t view,
                Clock::time_point now, const crypto::Digest& rank = kNoRank);

    // The lowest latest round among the authors `counts` accepts whose latest round advanced
    // within `active` (self excluded), 0 when none: the slowest peer a node paces itself against.
    std::uint64_t floor(const crypto::PeerId& self, Clock::time_point now, Clock::duration active,
                        const std::function<bool(const crypto::PeerId&)>& counts) const;

    // floor(), charging the pacing budget: `next_round` is the round the node would train
    // next, and it waits while that is more than `lead` rounds past the floor. The time since
    // the previous call (at most kMaxCharge) is charged to the author holding the floor when
    // the node waits; one over its budget is released (left out of the floor) at once.
    static constexpr std::chrono::seconds kMaxCharge{2};
    Pace pace(const crypto::PeerId& self, Clock::time_point now, Clock::duration active,
              const std::function<bool(const crypto::PeerId&)>& counts, std::uint64_t next_round,
              std::uint64_t lead);

    const AdmissionOptions& options() const noexcept { return m_options; }
    std::size_t authors() const noexcept { return m_authors.size(); }
    // Per-round counters held in total (memory is O(authors * window)).
    std::size_t counters() const noexcept;

  private:
    struct Author {
        Clock::time_point last_seen;
        crypto::Digest rank = kNoRank;
        std::map<std::uint64_t, std::uint32_t> per_round;  // rounds within the window only
        Clock::time_point unpaced_until{};                 // left out of floor() until then
        double held_seconds = 0;  // waited for it, decaying with held_window (pace())
        Clock::time_point held_at{};
    };
    bool paces(const crypto::PeerId& self, const crypto::PeerId& id, Clock::time_point now,
               const std::function<bool(const crypto::PeerId&)>& counts) const;
    void make_room(std::uint64_t view, Clock::time_point now, const crypto::Digest& rank);
    std::uint64_t latest(const crypto::PeerId& author) const {
        return m_progress.latest(author).value_or(0);
    }

    AdmissionOptions m_options;
    std::map<crypto::PeerId, Author> m_authors;
    PacingFloor m_progress;          // each tracked author's latest round and when it last advanced
    Clock::time_point m_paced_at{};  // the previous pace()
};

std::string_view to_string(Admit a);

}  // namespace swarmd::node
