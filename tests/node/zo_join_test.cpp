// Planning a late join: which checkpoint to trust, and how far behind the node is.
#include <catch2/catch.hpp>

#include <map>
#include "crypto/keys.hpp"

#include "node/zo/join.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

crypto::PeerId fresh_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

crypto::Digest digest(std::uint8_t v) {
    crypto::Digest d{};
    d.fill(v);
    return d;
}

}  // namespace

TEST_CASE("a join trusts only the newest checkpoint that several peers announce with one hash",
          "[join]") {
    JoinOptions options;
    options.staleness = 4;
    const auto a = fresh_peer(), b = fresh_peer(), c = fresh_peer();
    std::vector<PeerBeat> beats{
        {a,
         130,
         {{80, digest(1)}, {100, digest(2)}, {120, digest(9)}}},  // a alone claims round 120
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

    // Two hashes for one round, each announced by enough peers: the swarm disagrees; neither is
    // used.
    const auto d = fresh_peer();
    std::vector<PeerBeat> split{{a, 90, {{60, digest(1)}}},
                                {b, 90, {{60, digest(1)}}},
                                {c, 90, {{60, digest(2)}}},
                                {d, 90, {{60, digest(2)}}}};
    CHECK_FALSE(plan_join(split, 1, options).checkpoint);
    CHECK(plan_join({}, 1, options).swarm_round == 0);
}

TEST_CASE("fake trainers announced over one connection do not steer a join", "[join][hostile]") {
    JoinOptions options;
    options.staleness = 4;
    const auto honest1 = fresh_peer(), honest2 = fresh_peer(), relay = fresh_peer();
    std::vector<PeerBeat> beats{
        {honest1, 60, {{40, digest(1)}}},
        {honest2, 61, {{40, digest(1)}}},
        {relay, 2980, {{2960, digest(6)}}},  // the one connection the attacker has
    };
    // ...and 1000 identities it made up, heard only through it, all claiming round 2980.
    for (int i = 0; i < 1000; ++i) beats.push_back({fresh_peer(), 2980, {{2960, digest(6)}}});
    std::map<crypto::PeerId, std::string> connected{
        {honest1, "10.0.0.1"}, {honest2, "10.0.0.2"}, {relay, "10.0.0.66"}};
    auto address_of = [&](const crypto::PeerId& p) -> std::optional<std::string> {
        auto it = connected.find(p);
        if (it == connected.end()) return std::nullopt;
        return it->second;
    };
    auto neutral = [](const crypto::PeerId&) { return 0.0; };

    // Counting every beat, the made-up trainers would win.
    auto naive = plan_join(beats, 1, options);
    CHECK(naive.swarm_round == 2980);
    REQUIRE(naive.checkpoint);
    CHECK(naive.checkpoint->first == 2960);

    const auto voters = join_voters(beats, address_of, neutral);
    REQUIRE(voters.size() == 3);
    auto plan = plan_join(voters, 1, options);
    CHECK(plan.swarm_round == 61);
    REQUIRE(plan.checkpoint);
    CHECK(plan.checkpoint->first == 40);
    CHECK(plan.checkpoint->second == digest(1));

    // More connections from one address are one vote; a negative score is none.
    const auto sybil2 = fresh_peer(), sybil3 = fresh_peer();
    beats.push_back({sybil2, 2980, {{2960, digest(6)}}});
    beats.push_back({sybil3, 2980, {{2960, digest(6)}}});
    connected[sybil2] = "10.0.0.66";
    connected[sybil3] = "10.0.0.66";
    CHECK(join_voters(beats, address_of, neutral).size() == 3);
    auto penalised = [&](const crypto::PeerId& p) { return p == honest2 ? -5.0 : 0.0; };
    CHECK(join_voters(beats, address_of, penalised).size() == 2);
    // On loopback (a local testnet) every connected peer votes.
    for (auto& [peer, ip] : connected) ip = "127.0.0.1";
    CHECK(join_voters(beats, address_of, neutral).size() == 5);
}

TEST_CASE("a checkpoint needs a majority of the voters", "[join][hostile]") {
    JoinOptions options;
    std::vector<PeerBeat> beats;
    // Two of five voters announce a checkpoint the other three do not have.
    for (int i = 0; i < 5; ++i) beats.push_back({fresh_peer(), 90, {}});
    beats[0].checkpoints = {{80, digest(4)}};
    beats[1].checkpoints = {{80, digest(4)}};
    CHECK_FALSE(plan_join(beats, 1, options).checkpoint);
    beats[2].checkpoints = {{80, digest(4)}};
    CHECK(plan_join(beats, 1, options).checkpoint);
}
