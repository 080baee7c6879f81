#include "node/zo/admission.hpp"

#include <algorithm>
#include <cmath>

namespace swarmd::node {

Admit UpdateAdmission::admit(const crypto::PeerId& author, std::uint64_t round, std::uint64_t view,
                             Clock::time_point now, const crypto::Digest& rank) {
    const auto w = m_options.window;
    Admit window = Admit::accept;
    if (view > 0 && round + w < view) window = Admit::stale;
    if (view > 0 && round > view + w) window = Admit::future;
    auto it = m_authors.find(author);
    if (it == m_authors.end()) {
        if (m_authors.size() >= m_options.max_authors) make_room(view, now, rank);
        if (m_authors.size() >= m_options.max_authors) return Admit::full;
        it = m_authors.emplace(author, Author{}).first;
    }
    auto& a = it->second;
    if (rank < a.rank) a.rank = rank;
    // Liveness counts whatever the verdict: a node that fell behind the window must still hold
    // the fast ones back (pacing), or it would never get back inside it.
    const auto seen = view > 0 ? std::min(round, view + w) : round;
    if (seen > 0) m_progress.note(author, seen, now);
    a.last_seen = now;
    if (window != Admit::accept) return window;
    // Counters below the window can never be hit again (those rounds are refused as stale).
    const std::uint64_t low = std::max(view, latest(author));
    if (low > 2 * w) a.per_round.erase(a.per_round.begin(), a.per_round.lower_bound(low - 2 * w));
    auto& count = a.per_round[round];
    if (count >= m_options.directions) {
        // Two different signed updates beyond the cap: the author equivocates (an honest one
        // signs each (round, index) once, and its copies share a message id). It no longer
        // holds anyone back: a flooder must not pin the pace of the nodes it floods.
        a.unpaced_until = now + m_options.unpaced_for;
        return Admit::over_cap;
    }
    ++count;
    return Admit::accept;
}

void UpdateAdmission::make_room(std::uint64_t view, Clock::time_point now,
                                const crypto::Digest& rank) {
    for (auto it = m_authors.begin(); it != m_authors.end();) {
        const bool behind = view > 0 && latest(it->first) + m_options.window < view;
        const bool quiet = now - it->second.last_seen > m_options.quiet_after;
        if (!behind && !quiet) {
            ++it;
            continue;
        }
        m_progress.forget(it->first);
        it = m_authors.erase(it);
    }
    if (m_authors.size() < m_options.max_authors || m_authors.empty()) return;
    auto worst = m_authors.begin();
    for (auto it = m_authors.begin(); it != m_authors.end(); ++it) {
        if (worst->second.rank < it->second.rank) worst = it;
    }
    if (rank < worst->second.rank) {
        m_progress.forget(worst->first);
        m_authors.erase(worst);
    }
}

bool UpdateAdmission::paces(const crypto::PeerId& self, const crypto::PeerId& id,
                            Clock::time_point now,
                            const std::function<bool(const crypto::PeerId&)>& counts) const {
    if (id == self || !counts(id)) return false;
    const auto it = m_authors.find(id);
    return it == m_authors.end() || it->second.unpaced_until <= now;
}

std::uint64_t UpdateAdmission::floor(
    const crypto::PeerId& self, Clock::time_point now, Clock::duration active,
    const std::function<bool(const crypto::PeerId&)>& counts) const {
    return m_progress
        .floor(now, active, [&](const crypto::PeerId& id) { return paces(self, id, now, counts); })
        .value_or(0);
}

Pace UpdateAdmission::pace(const crypto::PeerId& self, Clock::time_point now,
                           Clock::duration active,
                           const std::function<bool(const crypto::PeerId&)>& counts,
                           std::uint64_t next_round, std::uint64_t lead) {
    const auto since =
        m_paced_at == Clock::time_point{}
            ? Clock::duration::zero()
            : std::clamp<Clock::duration>(now - m_paced_at, Clock::duration::zero(), kMaxCharge);
    m_paced_at = std::max(m_paced_at, now);
    Pace out;
    const auto slowest = m_progress.slowest(
        now, active, [&](const crypto::PeerId& id) { return paces(self, id, now, counts); });
    if (!slowest) return out;
    out.floor = slowest->second;
    if (next_round <= out.floor + lead) return out;  // not waiting
    const auto it = m_authors.find(slowest->first);
    if (it == m_authors.end()) return out;  // no longer tracked: nothing to charge
    auto& a = it->second;
    const double window = std::chrono::duration<double>(m_options.held_window).count();
    if (a.held_at != Clock::time_point{} && now > a.held_at) {
        a.held_seconds *=
            std::exp(-std::chrono::duration<double>(now - a.held_at).count() / window);
    }
    a.held_at = std::max(a.held_at, now);
    a.held_seconds += std::chrono::duration<double>(since).count();
    if (a.held_seconds <= m_options.held_share * window) return out;
    a.held_seconds = 0;
    a.unpaced_until = now + m_options.unpaced_for;
    out.released = slowest->first;
    out.floor = floor(self, now, active, counts);
    return out;
}

std::size_t UpdateAdmission::counters() const noexcept {
    std::size_t n = 0;
    for (const auto& [id, a] : m_authors) n += a.per_round.size();
    return n;
}

std::string_view to_string(Admit a) {
    switch (a) {
        case Admit::accept:
            return "accept";
        case Admit::stale:
            return "stale";
        case Admit::future:
            return "future";
        case Admit::over_cap:
            return "over_cap";
        case Admit::full:
            return "full";
    }
    return "?";
}

}  // namespace swarmd::node
