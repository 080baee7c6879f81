// Bounded acceptance of ZO updates against a flood of fake authors.
#include <catch2/catch.hpp>

#include <optional>

#include "crypto/keys.hpp"
#include "node/zo/admission.hpp"

using namespace swarmd;
using namespace swarmd::node;
using Clock = std::chrono::steady_clock;

namespace {

crypto::PeerId fresh_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

}  // namespace

TEST_CASE("admission keeps updates within the staleness window of the receiver's round",
          "[admission]") {
    UpdateAdmission a({4, 1});
    const auto peer = fresh_peer();
    const auto now = Clock::now();
    CHECK(a.admit(peer, 95, 100, now) == Admit::stale);
    CHECK(a.admit(peer, 105, 100, now) == Admit::future);
    CHECK(a.admit(peer, 96, 100, now) == Admit::accept);
    CHECK(a.admit(peer, 104, 100, now) == Admit::accept);
    CHECK(a.admit(peer, 100, 100, now) == Admit::accept);
    // One update per author and round with one direction, however many messages carry it.
    CHECK(a.admit(peer, 100, 100, now) == Admit::over_cap);
    // No view yet (not training): only the caps apply.
    CHECK(a.admit(peer, 5000, 0, now) == Admit::accept);
}

TEST_CASE(
    "a flood of fake authors cannot grow the admission state or what is admitted without bound",
    "[admission]") {
    AdmissionOptions options{4, 2};
    options.max_authors = 64;
    UpdateAdmission a(options);
    auto now = Clock::now();
    const auto honest = fresh_peer();
    REQUIRE(a.admit(honest, 9, 10, now) == Admit::accept);

    std::size_t accepted = 0;
    std::vector<crypto::PeerId> sybils;
    for (int i = 0; i < 5000; ++i) sybils.push_back(fresh_peer());
    for (std::uint64_t view = 10; view < 60; ++view) {
        now += std::chrono::milliseconds(20);
        // The honest author keeps publishing its two directions a round.
        CHECK(a.admit(honest, view, view, now) == Admit::accept);
        CHECK(a.admit(honest, view, view, now) == Admit::accept);
        CHECK(a.admit(honest, view, view, now) == Admit::over_cap);
        // Every sybil floods every round of the window, many times over.
        for (const auto& s : sybils) {
            for (std::uint64_t r = view - 4; r <= view + 4; ++r) {
                for (int copy = 0; copy < 3; ++copy)
                    accepted += a.admit(s, r, view, now) == Admit::accept ? 1 : 0;
            }
        }
        CHECK(a.authors() <= options.max_authors);
        CHECK(a.counters() <= options.max_authors * (4 * 4 + 2));
    }
    // The honest author kept its slot; the sybils got at most the other slots, each capped at
    // `directions` updates per round: the total is bounded by slots * directions * rounds seen.
    const std::size_t rounds_seen = (60 - 10) + 2 * 4 + 1;
    CHECK(accepted <= (options.max_authors - 1) * options.directions * rounds_seen);
    CHECK(accepted > 0);

    // Sybils that go quiet free their slots for new authors.
    now += options.quiet_after + std::chrono::seconds(1);
    const auto newcomer = fresh_peer();
    CHECK(a.admit(newcomer, 60, 60, now) == Admit::accept);
    CHECK(a.authors() <= options.max_authors);
}

TEST_CASE("a full admission table refuses new authors while its authors are active",
          "[admission]") {
    AdmissionOptions options{4, 1};
    options.max_authors = 3;
    UpdateAdmission a(options);
    auto now = Clock::now();
    std::vector<crypto::PeerId> peers{fresh_peer(), fresh_peer(), fresh_peer()};
    for (const auto& p : peers) REQUIRE(a.admit(p, 10, 10, now) == Admit::accept);
    CHECK(a.admit(fresh_peer(), 10, 10, now) == Admit::full);
    // Authors that fell behind the window make room.
    CHECK(a.admit(fresh_peer(), 20, 20, now) == Admit::accept);
    CHECK(a.authors() == 1);
}

TEST_CASE("in a full admission table a newcomer with a better ticket takes the worst-ranked slot",
          "[admission][hostile]") {
    AdmissionOptions options{4, 1};
    options.max_authors = 3;
    UpdateAdmission a(options);
    const auto now = Clock::now();
    auto rank = [](std::uint8_t first) {
        crypto::Digest d{};
        d.fill(0xff);
        d[0] = first;
        return d;
    };
    // Three active sybils at the least work (high hashes) fill the table first.
    std::vector<crypto::PeerId> sybils{fresh_peer(), fresh_peer(), fresh_peer()};
    for (std::size_t i = 0; i < sybils.size(); ++i) {
        REQUIRE(a.admit(sybils[i], 10, 10, now, rank(static_cast<std::uint8_t>(0x80 + i))) ==
                Admit::accept);
    }
    // More free identities with no better ticket are refused, and push nobody out.
    CHECK(a.admit(fresh_peer(), 10, 10, now, rank(0x90)) == Admit::full);
    CHECK(a.admit(fresh_peer(), 10, 10, now) == Admit::full);
    // An honest author with more work takes the slot of the worst-ranked one.
    const auto honest = fresh_peer();
    CHECK(a.admit(honest, 10, 10, now, rank(0x01)) == Admit::accept);
    CHECK(a.authors() == 3);
    CHECK(a.admit(sybils[2], 11, 10, now, rank(0x82)) == Admit::full);    // it was evicted
    CHECK(a.admit(sybils[0], 11, 10, now, rank(0x80)) == Admit::accept);  // the others stay
    CHECK(a.admit(honest, 11, 10, now, rank(0x01)) == Admit::accept);
}

TEST_CASE("the pacing floor is the slowest advancing author, self excluded", "[admission]") {
    UpdateAdmission a({4, 1});
    const auto self = fresh_peer(), slow = fresh_peer(), fast = fresh_peer();
    const auto all = [](const crypto::PeerId&) { return true; };
    auto now = Clock::now();
    a.admit(self, 3, 0, now);
    a.admit(slow, 7, 0, now);
    a.admit(fast, 9, 0, now);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 7);
    now += std::chrono::seconds(6);
    a.admit(fast, 10, 0, now);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 10);  // the slow one went quiet
    // A node far behind our window is refused, yet still holds us back, so it can catch up.
    CHECK(a.admit(slow, 8, 20, now) == Admit::stale);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 8);
    // Only the authors the caller counts (the daemon: directly connected peers) hold us back.
    CHECK(a.floor(self, now, std::chrono::seconds(5),
                  [&](const crypto::PeerId& p) { return p != slow; }) == 10);
}

TEST_CASE("an author repeating an old round cannot hold the pacing floor", "[admission]") {
    UpdateAdmission a({4, 1});
    const auto self = fresh_peer(), honest = fresh_peer(), stuck = fresh_peer();
    const auto all = [](const crypto::PeerId&) { return true; };
    auto now = Clock::now();
    a.admit(stuck, 5, 0, now);
    for (std::uint64_t r = 10; r < 40; ++r) {
        now += std::chrono::milliseconds(500);
        a.admit(honest, r, r, now);
        // The stuck author sends its old round again and again: stale, and no progress.
        for (int i = 0; i < 10; ++i) a.admit(stuck, 5, r, now);
    }
    // It was heard from a moment ago, but its round has not moved for 15 s.
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 39);
    // Advancing again makes it count again.
    now += std::chrono::milliseconds(100);
    a.admit(stuck, 36, 39, now);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 36);
}

TEST_CASE("an author that goes over its cap no longer holds the pacing floor", "[admission]") {
    UpdateAdmission a({4, 1});
    const auto self = fresh_peer(), honest = fresh_peer(), flooder = fresh_peer();
    const auto all = [](const crypto::PeerId&) { return true; };
    auto now = Clock::now();
    a.admit(honest, 20, 20, now);
    // Advancing, a little behind: it holds the floor while it signs one update per round...
    CHECK(a.admit(flooder, 17, 20, now) == Admit::accept);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 17);
    // ... and stops holding it once it signs a second one for a round (a flood of fresh
    // messages), for the configured time, however it advances meanwhile.
    CHECK(a.admit(flooder, 17, 20, now) == Admit::over_cap);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 20);
    now += std::chrono::minutes(9);
    a.admit(honest, 30, 30, now);
    CHECK(a.admit(flooder, 28, 30, now) == Admit::accept);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 30);
    now += std::chrono::minutes(2);
    a.admit(honest, 31, 31, now);
    CHECK(a.admit(flooder, 29, 31, now) == Admit::accept);
    CHECK(a.floor(self, now, std::chrono::seconds(5), all) == 29);
}

TEST_CASE("an author that keeps a node waiting over half the time is released from its pacing",
          "[admission][pacing]") {
    UpdateAdmission a({4, 1});
    const auto self = fresh_peer(), fast = fresh_peer(), slow = fresh_peer();
    const auto all = [](const crypto::PeerId&) { return true; };
    const auto active = std::chrono::seconds(5);
    const auto lead = 2;
    auto now = Clock::now();
    // The slow author advances a round a second; the fast one and this node would go on, so
    // this node waits at the floor the slow one sets, every time it asks.
    std::uint64_t slow_round = 100;
    std::optional<double> released_after;
    for (int tick = 1; tick <= 600 && !released_after; ++tick) {  // 100 ms ticks: 60 s
        now += std::chrono::milliseconds(100);
        if (tick == 1 || tick % 10 == 0) {  // one update per round each, as honest authors
            if (tick > 1) ++slow_round;
            a.admit(slow, slow_round, slow_round, now);
            a.admit(fast, slow_round + 3, slow_round + 3, now);
        }
        const auto pace = a.pace(self, now, active, all, slow_round + lead + 1, lead);
        if (pace.released) {
            CHECK(*pace.released == slow);
            CHECK(pace.floor == slow_round + 3);  // the fast author's, at once
            released_after = tick / 10.0;
        } else {
            CHECK(pace.floor == slow_round);
        }
    }
    // A decaying sum over 60 s passes half of it after 60 s * ln 2 of waiting: about 41.6 s.
    REQUIRE(released_after);
    CHECK(*released_after > 40.0);
    CHECK(*released_after < 43.0);
    // Left out for unpaced_for (10 min) while it keeps advancing, then it paces again.
    now += std::chrono::minutes(9);
    a.admit(slow, slow_round + 1, slow_round + 1, now);
    a.admit(fast, slow_round + 4, slow_round + 4, now);
    CHECK(a.floor(self, now, active, all) == slow_round + 4);
    now += std::chrono::minutes(2);
    a.admit(slow, slow_round + 2, slow_round + 2, now);
    a.admit(fast, slow_round + 5, slow_round + 5, now);
    CHECK(a.floor(self, now, active, all) == slow_round + 2);
}

TEST_CASE("an author that keeps a node waiting less than half the time is waited for",
          "[admission][pacing]") {
    UpdateAdmission a({4, 1});
    const auto self = fresh_peer(), slow = fresh_peer();
    const auto all = [](const crypto::PeerId&) { return true; };
    const auto lead = 2;
    auto now = Clock::now();
    std::uint64_t slow_round = 100;
    // Ten minutes of 100 ms ticks: this node waits for it in 4 ticks of every 10 (40%), and is
    // within the lead (not waiting, nothing charged) in the others.
    for (int tick = 1; tick <= 6000; ++tick) {
        now += std::chrono::milliseconds(100);
        if (tick == 1 || tick % 10 == 0) {
            if (tick > 1) ++slow_round;
            a.admit(slow, slow_round, slow_round, now);
        }
        const bool waits = tick % 10 < 4;
        const auto pace = a.pace(self, now, std::chrono::seconds(5), all,
                                 slow_round + lead + (waits ? 1 : 0), lead);
        REQUIRE_FALSE(pace.released);
        CHECK(pace.floor == slow_round);
    }
}
