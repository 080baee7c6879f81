#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "net/gossipsub_score.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;

namespace {

crypto::PeerId peer(std::uint8_t b) {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(Bytes(32, b)).public_key());
}

const Time t0{std::chrono::hours(1)};
const std::string kTopic = "t";

}  // namespace

TEST_CASE("P1 grows with time in mesh up to its cap", "[gossipsub][score]") {
    PeerScore s{ScoreParams{}};
    const auto p = peer(1);
    s.add_peer(p, "", t0);
    s.graft(p, kTopic, t0);
    s.refresh(t0 + std::chrono::seconds(360));
    CHECK(s.score(p) == Approx(1.0));
    s.refresh(t0 + std::chrono::hours(5));
    CHECK(s.score(p) == Approx(10.0));
}

TEST_CASE("P2 counts first deliveries, capped, and decays", "[gossipsub][score]") {
    ScoreParams params;
    params.default_topic.first_message_deliveries_decay = 0.5;
    params.default_topic.time_in_mesh_weight = 0;
    PeerScore s{params};
    const auto p = peer(2);
    s.add_peer(p, "", t0);
    for (int i = 0; i < 150; ++i) s.first_delivery(p, kTopic);
    CHECK(s.score(p) == Approx(100.0));  // cap
    s.refresh(t0 + std::chrono::seconds(1));
    CHECK(s.score(p) == Approx(50.0));
}

TEST_CASE("P3 deficit applies after activation and P3b sticks at prune", "[gossipsub][score]") {
    ScoreParams params;
    auto& t = params.default_topic;
    t.time_in_mesh_weight = 0;
    t.first_message_deliveries_weight = 0;
    t.mesh_message_deliveries_weight = -1;
    t.mesh_message_deliveries_threshold = 4;
    t.mesh_message_deliveries_decay = 1.0;
    t.mesh_message_deliveries_activation = std::chrono::seconds(5);
    t.mesh_failure_penalty_weight = -1;
    t.mesh_failure_penalty_decay = 1.0;
    PeerScore s{params};
    const auto p = peer(3);
    s.add_peer(p, "", t0);
    s.graft(p, kTopic, t0);
    s.first_delivery(p, kTopic);
    s.refresh(t0 + std::chrono::seconds(2));
    CHECK(s.score(p) == 0);  // not active yet
    s.refresh(t0 + std::chrono::seconds(6));
    CHECK(s.score(p) == Approx(-9.0));  // (4 - 1)²
    // A near-first duplicate counts inside the window, not after it.
    s.duplicate_delivery(p, kTopic, t0 + std::chrono::seconds(6), t0 + std::chrono::seconds(6));
    CHECK(s.score(p) == Approx(-4.0));
    s.duplicate_delivery(p, kTopic, t0, t0 + std::chrono::seconds(6));
    CHECK(s.score(p) == Approx(-4.0));
    s.prune(p, kTopic);
    CHECK(s.score(p) == Approx(-4.0));  // P3 gone, P3b = 2² stays
}

TEST_CASE("P4 is quadratic in invalid deliveries", "[gossipsub][score]") {
    PeerScore s{ScoreParams{}};
    const auto p = peer(4);
    s.add_peer(p, "", t0);
    s.invalid_delivery(p, kTopic);
    CHECK(s.score(p) == Approx(-100.0));
    s.invalid_delivery(p, kTopic);
    CHECK(s.score(p) == Approx(-400.0));
}

TEST_CASE("P5, P6 and P7", "[gossipsub][score]") {
    ScoreParams params;
    params.ip_colocation_factor_threshold = 2;
    PeerScore s{params};
    const auto a = peer(5), b = peer(6), c = peer(7), d = peer(8);
    s.add_peer(a, "10.0.0.1", t0);
    s.add_peer(b, "10.0.0.1", t0);
    CHECK(s.score(a) == 0);
    s.add_peer(c, "10.0.0.1", t0);
    CHECK(s.score(a) == Approx(-10.0));  // (3 - 2)² × -10
    s.add_peer(d, "127.0.0.1", t0);
    s.set_app_score(d, 5);
    CHECK(s.score(d) == Approx(5.0));
    for (int i = 0; i < 6; ++i) s.add_penalty(d, 1);
    CHECK(s.score(d) == Approx(5.0));  // at the threshold
    s.add_penalty(d, 2);
    CHECK(s.score(d) == Approx(5.0 - 40.0));  // (8 - 6)² × -10
}

TEST_CASE("negative scores survive a reconnect; positive ones do not", "[gossipsub][score]") {
    PeerScore s{ScoreParams{}};
    const auto bad = peer(9), good = peer(10);
    s.add_peer(bad, "", t0);
    s.add_peer(good, "", t0);
    s.invalid_delivery(bad, kTopic);
    s.first_delivery(good, kTopic);
    s.remove_peer(bad, t0);
    s.remove_peer(good, t0);
    s.add_peer(bad, "", t0 + std::chrono::seconds(10));
    s.add_peer(good, "", t0 + std::chrono::seconds(10));
    CHECK(s.score(bad) == Approx(-100.0));
    CHECK(s.score(good) == 0);
    s.remove_peer(bad, t0 + std::chrono::seconds(20));
    s.refresh(t0 + std::chrono::minutes(11));
    CHECK(s.tracked_peers() == 1);
}
