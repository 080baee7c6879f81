#include <catch2/catch.hpp>

#include "gossipsub_harness.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;
using namespace swarmd::net::gossipsub::test;

namespace {

const std::string kTopic = "swarmd/test/zo/1";

std::size_t count_messages(const Bytes& frames) {
    std::size_t n = 0;
    for (const auto& rpc : decode_frames(frames)) n += static_cast<std::size_t>(rpc.publish_size());
    return n;
}

}  // namespace

TEST_CASE("two peers exchange a signed message", "[gossipsub][router]") {
    Net net;
    const auto a = net.add();
    const auto b = net.add();
    net.subscribe(a, kTopic);
    net.subscribe(b, kTopic);
    net.connect(a, b);
    net.heartbeats(1);
    CHECK(net.nodes[a].router->mesh_peers(kTopic).size() == 1);
    CHECK(net.nodes[b].router->mesh_peers(kTopic).size() == 1);

    net.publish(a, kTopic, "hello");
    REQUIRE(net.nodes[b].delivered.size() == 1);
    const Delivery& d = net.nodes[b].delivered[0];
    CHECK(d.topic == kTopic);
    CHECK(d.author == net.nodes[a].id);
    CHECK(d.received_from == net.nodes[a].id);
    CHECK(d.seqno == 1);
    CHECK(d.id == std::string(as_string_view(net.nodes[a].id.bytes())) + encode_seqno(1));
    CHECK(net.nodes[a].delivered.empty());  // own messages are not delivered by default
}

TEST_CASE("a fully connected group forms bounded meshes and delivers everything once",
          "[gossipsub][router]") {
    Net net;
    constexpr std::size_t kNodes = 20;
    for (std::size_t i = 0; i < kNodes; ++i) net.add();
    for (std::size_t i = 0; i < kNodes; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 0; i < kNodes; ++i) {
        for (std::size_t j = i + 1; j < kNodes; ++j) net.connect(i, j);
    }
    net.heartbeats(3);
    const Options o;
    for (std::size_t i = 0; i < kNodes; ++i) {
        const auto mesh = net.nodes[i].router->mesh_peers(kTopic);
        CHECK(mesh.size() >= o.d_lo);
        CHECK(mesh.size() <= o.d_hi);
    }
    for (std::size_t i = 0; i < kNodes; ++i) net.publish(i, kTopic, "m" + std::to_string(i));
    net.heartbeats(2);
    for (std::size_t i = 0; i < kNodes; ++i) {
        CHECK(net.nodes[i].delivered.size() == kNodes - 1);
        for (std::size_t j = 0; j < kNodes; ++j) {
            if (i != j) CHECK(net.count_deliveries(i, "m" + std::to_string(j)) == 1);
        }
    }
}

TEST_CASE("messages cross a line of peers", "[gossipsub][router]") {
    Net net;
    constexpr std::size_t kNodes = 6;
    for (std::size_t i = 0; i < kNodes; ++i) net.add();
    for (std::size_t i = 0; i < kNodes; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 0; i + 1 < kNodes; ++i) net.connect(i, i + 1);
    net.heartbeats(2);
    net.publish(0, kTopic, "left to right");
    net.publish(kNodes - 1, kTopic, "right to left");
    for (std::size_t i = 1; i < kNodes; ++i) CHECK(net.count_deliveries(i, "left to right") == 1);
    for (std::size_t i = 0; i + 1 < kNodes; ++i) {
        CHECK(net.count_deliveries(i, "right to left") == 1);
    }
}

TEST_CASE("peers outside the mesh get the message through IHAVE/IWANT gossip",
          "[gossipsub][router]") {
    Net net;
    Options hub = test_options(7);
    hub.d = 2;
    hub.d_lo = 2;
    hub.d_hi = 2;
    hub.d_out = 0;
    hub.d_score = 1;
    hub.d_lazy = 6;
    const auto b = net.add(hub);
    constexpr std::size_t kLeaves = 6;
    for (std::size_t i = 0; i < kLeaves; ++i) net.add();
    for (std::size_t i = 0; i <= kLeaves; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 1; i <= kLeaves; ++i) net.connect(i, b);  // leaves dial the hub
    net.heartbeats(2);
    CHECK(net.nodes[b].router->mesh_peers(kTopic).size() == 2);

    // Count what the hub forwards eagerly and what it answers to IWANT.
    std::size_t eager = 0;
    std::size_t ihave_ids = 0;
    net.drop = [&](std::size_t from, std::size_t, const Bytes& bytes) {
        if (from != b) return false;
        for (const auto& rpc : decode_frames(bytes)) {
            if (rpc.has_control()) {
                for (const auto& ih : rpc.control().ihave()) ihave_ids += ih.messageids_size();
            }
        }
        return false;
    };
    // A leaf in the hub's mesh publishes; the hub forwards to its other mesh peer only.
    const auto mesh = net.nodes[b].router->mesh_peers(kTopic);
    const std::size_t publisher = net.index.at(mesh[0]);
    net.publish(publisher, kTopic, "gossiped");
    std::size_t got_now = 0;
    for (std::size_t i = 1; i <= kLeaves; ++i) got_now += net.count_deliveries(i, "gossiped");
    CHECK(got_now == 1);
    (void)eager;

    net.heartbeats(1);  // the hub's IHAVE reaches the others, they IWANT, it answers
    CHECK(ihave_ids > 0);
    for (std::size_t i = 1; i <= kLeaves; ++i) {
        if (i != publisher) CHECK(net.count_deliveries(i, "gossiped") == 1);
    }
}

TEST_CASE("PRUNE carries backoff and peer exchange on 1.1 only", "[gossipsub][router]") {
    Net net;
    Options hub = test_options(9);
    hub.d = 1;
    hub.d_lo = 1;
    hub.d_hi = 1;
    hub.d_out = 0;
    hub.d_score = 1;
    const auto b = net.add(hub);
    const auto l1 = net.add();
    const auto l2 = net.add();
    const auto l3 = net.add();
    for (std::size_t i = 0; i < 4; ++i) net.subscribe(i, kTopic);

    std::vector<pb::ControlPrune> prunes;
    net.drop = [&](std::size_t from, std::size_t, const Bytes& bytes) {
        if (from == b) {
            for (const auto& rpc : decode_frames(bytes)) {
                for (const auto& p : rpc.control().prune()) prunes.push_back(p);
            }
        }
        return false;
    };
    net.connect(l1, b);  // the hub's mesh fills with l1
    net.heartbeats(1);
    REQUIRE(net.nodes[b].router->mesh_peers(kTopic).size() == 1);
    prunes.clear();
    net.connect(l2, b, Protocol::v11, Protocol::v11);
    net.heartbeats(1);  // l2 grafts the full hub, is refused with PX
    REQUIRE_FALSE(prunes.empty());
    CHECK(prunes.back().backoff() == 60);
    CHECK(prunes.back().peers_size() >= 1);
    CHECK(net.nodes[l2].router->in_backoff(net.nodes[b].id, kTopic, net.now));
    // PX from the hub (score 0 ≥ accept_px 0) asks l2 to dial l1.
    bool dial_l1 = false;
    for (const auto& c : net.nodes[l2].connects) dial_l1 |= c.peer == net.nodes[l1].id;
    CHECK(dial_l1);

    prunes.clear();
    net.connect(l3, b, Protocol::v10, Protocol::v11);  // the hub sees l3 as a 1.0 peer
    net.heartbeats(1);
    REQUIRE_FALSE(prunes.empty());
    CHECK_FALSE(prunes.back().has_backoff());
    CHECK(prunes.back().peers_size() == 0);
}

TEST_CASE("publishing without subscribing uses a fanout that expires", "[gossipsub][router]") {
    Net net;
    Options o = test_options(11);
    o.flood_publish = false;
    const auto p = net.add(o);
    for (std::size_t i = 0; i < 10; ++i) net.add();
    for (std::size_t i = 1; i <= 10; ++i) {
        net.subscribe(i, kTopic);
        net.connect(p, i);
    }
    net.heartbeats(1);
    std::size_t first_hop = 0;
    net.drop = [&](std::size_t from, std::size_t, const Bytes& bytes) {
        if (from == p) first_hop += count_messages(bytes);
        return false;
    };
    net.publish(p, kTopic, "via fanout");
    CHECK(first_hop == Options::kD);
    CHECK(net.nodes[p].router->fanout_peers(kTopic).size() == Options::kD);
    net.heartbeats(1);  // the rest learn of it from the fanout's IHAVE
    std::size_t delivered = 0;
    for (std::size_t i = 1; i <= 10; ++i) delivered += net.count_deliveries(i, "via fanout");
    CHECK(delivered == 10);
    net.heartbeats(62);
    CHECK(net.nodes[p].router->fanout_peers(kTopic).empty());
}

TEST_CASE("flood publishing sends own messages to every topic peer", "[gossipsub][router]") {
    Net net;
    const auto p = net.add();
    for (std::size_t i = 0; i < 10; ++i) net.add();
    for (std::size_t i = 0; i <= 10; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 1; i <= 10; ++i) net.connect(p, i);
    net.heartbeats(2);
    std::size_t first_hop = 0;
    net.drop = [&](std::size_t from, std::size_t, const Bytes& bytes) {
        if (from == p) first_hop += count_messages(bytes);
        return false;
    };
    net.publish(p, kTopic, "flood");
    CHECK(first_hop == 10);
}

TEST_CASE("unsubscribing prunes the mesh and announces it", "[gossipsub][router]") {
    Net net;
    for (std::size_t i = 0; i < 4; ++i) net.add();
    for (std::size_t i = 0; i < 4; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 1; i < 4; ++i) net.connect(0, i);
    net.heartbeats(1);
    REQUIRE(net.nodes[0].router->mesh_peers(kTopic).size() == 3);
    net.apply(0, net.nodes[0].router->unsubscribe(kTopic, net.now));
    net.run();
    CHECK(net.nodes[0].router->mesh_peers(kTopic).empty());
    for (std::size_t i = 1; i < 4; ++i) {
        CHECK(net.nodes[i].router->mesh_peers(kTopic).empty());
        CHECK(net.nodes[i].router->topic_peers(kTopic).empty());
        // The 10 s unsubscribe backoff, not the 60 s prune backoff.
        CHECK(net.nodes[i].router->in_backoff(net.nodes[0].id, kTopic, net.now + std::chrono::seconds(9)));
        CHECK_FALSE(net.nodes[i].router->in_backoff(net.nodes[0].id, kTopic, net.now + std::chrono::seconds(11)));
    }
}

TEST_CASE("validators decide delivery and forwarding", "[gossipsub][router]") {
    Net net;
    for (std::size_t i = 0; i < 3; ++i) net.add();
    for (std::size_t i = 0; i < 3; ++i) net.subscribe(i, kTopic);
    net.connect(0, 1);
    net.connect(1, 2);
    net.heartbeats(1);
    net.nodes[1].router->set_validator(kTopic, [](const Delivery& d) {
        const std::string s(d.data.begin(), d.data.end());
        if (s == "bad") return Validation::reject;
        if (s == "meh") return Validation::ignore;
        return Validation::accept;
    });
    net.publish(0, kTopic, "good");
    net.publish(0, kTopic, "meh");
    CHECK(net.count_deliveries(1, "good") == 1);
    CHECK(net.count_deliveries(2, "good") == 1);
    CHECK(net.count_deliveries(1, "meh") == 0);
    CHECK(net.count_deliveries(2, "meh") == 0);
    CHECK(net.nodes[1].router->score(net.nodes[0].id) >= 0);
    net.publish(0, kTopic, "bad");
    CHECK(net.count_deliveries(1, "bad") == 0);
    CHECK(net.count_deliveries(2, "bad") == 0);
    // Reject counts as P4 against the sender.
    CHECK(net.nodes[1].router->score(net.nodes[0].id) < 0);
}

TEST_CASE("caches expire: seen after its TTL, mcache after its windows", "[gossipsub][router]") {
    Net net;
    net.add();
    net.add();
    net.subscribe(0, kTopic);
    net.subscribe(1, kTopic);
    net.connect(0, 1);
    for (int i = 0; i < 5; ++i) net.publish(0, kTopic, "x" + std::to_string(i));
    CHECK(net.nodes[1].router->seen_size() == 5);
    CHECK(net.nodes[1].router->mcache_size() == 5);
    net.heartbeats(5);
    CHECK(net.nodes[1].router->mcache_size() == 0);
    CHECK(net.nodes[1].router->seen_size() == 5);
    net.heartbeats(120);
    CHECK(net.nodes[1].router->seen_size() == 0);
}
