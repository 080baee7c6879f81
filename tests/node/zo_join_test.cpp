// Planning a late join: which checkpoint to trust, and how far behind the node is.
#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "node/zo_join.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

crypto::PeerId fresh_peer() { return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()); }

crypto::Digest digest(std::uint8_t v) {
    crypto::Digest d{};
    d.fill(v);
    return d;
}

}  // namespace

TEST_CASE("a join trusts only the newest checkpoint that several peers announce with one hash", "[join]") {
    JoinOptions options;
    options.staleness = 4;
    const auto a = fresh_peer(), b = fresh_peer(), c = fresh_peer();
    std::vector<PeerBeat> beats{
        {a, 130, {{80, digest(1)}, {100, digest(2)}, {120, digest(9)}}},  // a alone claims round 120
        {b, 128, {{100, digest(2)}, {120, digest(3)}}},
        {c, 131, {{80, digest(1)}, {100, digest(2)}}},
    };
    auto plan = plan_join(beats, 1, options);
    CHECK(plan.swarm_round == 130);
    REQUIRE(plan.checkpoint);
    CHECK(plan.checkpoint->first == 100);  // 120 has two hashes, each from one peer only
    CHECK(plan.checkpoint->second == digest(2));
    CHECK(plan.holders.size() == 3);

    // A node whose own log is already past every checkpoint takes none.
    CHECK_FALSE(plan_join(beats, 100, options).checkpoint);

    // One liar cannot make a checkpoint trusted when two peers exist...
    std::vector<PeerBeat> liar{{a, 50, {{40, digest(7)}}}, {b, 50, {}}};
    CHECK_FALSE(plan_join(liar, 1, options).checkpoint);
    // ...but a swarm of one is trusted alone.
    std::vector<PeerBeat> alone{{a, 50, {{40, digest(7)}}}};
    CHECK(plan_join(alone, 1, options).checkpoint);

    // Two hashes for one round, each announced by enough peers: the swarm disagrees; neither is used.
    const auto d = fresh_peer();
    std::vector<PeerBeat> split{{a, 90, {{60, digest(1)}}}, {b, 90, {{60, digest(1)}}},
                                {c, 90, {{60, digest(2)}}}, {d, 90, {{60, digest(2)}}}};
    CHECK_FALSE(plan_join(split, 1, options).checkpoint);
    CHECK(plan_join({}, 1, options).swarm_round == 0);
}
