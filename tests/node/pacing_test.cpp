// Self-pacing against the slowest neighbour that still makes progress.
#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "node/core/pacing.hpp"

using namespace swarmd;
using namespace swarmd::node;
using Clock = std::chrono::steady_clock;

namespace {

crypto::PeerId fresh_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

const auto kActive = std::chrono::seconds(5);

}  // namespace

TEST_CASE("the pacing floor is the slowest counted peer whose round advances", "[pacing]") {
    PacingFloor p;
    const auto all = [](const crypto::PeerId&) { return true; };
    const auto slow = fresh_peer(), fast = fresh_peer();
    auto now = Clock::now();
    CHECK_FALSE(p.floor(now, kActive, all).has_value());
    p.note(slow, 7, now);
    p.note(fast, 9, now);
    CHECK(p.floor(now, kActive, all) == 7u);
    // Only the peers the caller counts (the daemon: its connections) hold a node back.
    CHECK(p.floor(now, kActive, [&](const crypto::PeerId& id) { return id != slow; }) == 9u);
    // The slow one keeps saying round 7: heard, but not progressing, so after 5 s it no longer
    // counts.
    for (int i = 0; i < 60; ++i) {
        now += std::chrono::milliseconds(100);
        p.note(slow, 7, now);
        p.note(fast, 10 + static_cast<std::uint64_t>(i), now);
    }
    CHECK(p.floor(now, kActive, all) == 69u);
    // Progress makes it count again.
    p.note(slow, 8, now);
    CHECK(p.floor(now, kActive, all) == 8u);
    // A lower round than the latest changes nothing.
    p.note(fast, 3, now);
    CHECK(p.floor(now, kActive, all) == 8u);
}

TEST_CASE("made-up identities repeating an old round cannot pin the pacing floor", "[pacing]") {
    PacingFloor p;
    const auto honest = fresh_peer();
    std::vector<crypto::PeerId> sybils;
    for (int i = 0; i < 200; ++i) sybils.push_back(fresh_peer());
    // The daemon counts only connected peers: the sybils are not connections of ours.
    const auto connected = [&](const crypto::PeerId& id) { return id == honest; };
    auto now = Clock::now();
    for (std::uint64_t r = 1; r <= 30; ++r) {
        now += std::chrono::milliseconds(200);
        p.note(honest, r, now);
        for (const auto& s : sybils) p.note(s, 1, now);
        CHECK(p.floor(now, kActive, connected) == r);
    }
    // Even if they were all counted, they never advance: after 5 s they stop holding us back.
    const auto all = [](const crypto::PeerId&) { return true; };
    CHECK(p.floor(now, kActive, all) == 30u);
    // Disconnected peers are dropped, so the table stays as large as the connections.
    p.forget_if([&](const crypto::PeerId& id) { return !connected(id); });
    CHECK(p.size() == 1);
}
