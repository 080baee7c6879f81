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

    // Count the IHAVE ids the hub gossips.
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
        CHECK(net.nodes[i].router->in_backoff(net.nodes[0].id, kTopic,
                                              net.now + std::chrono::seconds(9)));
        CHECK_FALSE(net.nodes[i].router->in_backoff(net.nodes[0].id, kTopic,
                                                    net.now + std::chrono::seconds(11)));
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

TEST_CASE("what a validator decoded reaches the subscriber with the delivery",
          "[gossipsub][router]") {
    Net net;
    for (std::size_t i = 0; i < 2; ++i) net.add();
    for (std::size_t i = 0; i < 2; ++i) net.subscribe(i, kTopic);
    net.connect(0, 1);
    net.heartbeats(1);
    int validated = 0;
    net.nodes[1].router->set_validator(kTopic, [&](Delivery& d) {
        ++validated;
        d.decoded = std::make_shared<std::size_t>(d.data.size() * 10);
        return Validation::accept;
    });
    net.publish(0, kTopic, "four");
    REQUIRE(net.nodes[1].delivered.size() == 1);
    const auto* kept = net.nodes[1].delivered[0].decoded_as<std::size_t>();
    REQUIRE(kept != nullptr);
    CHECK(*kept == 40);
    CHECK(validated == 1);
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

TEST_CASE("an oversized mesh is pruned to D keeping D_out outbound peers", "[gossipsub][router]") {
    Net net;
    constexpr std::size_t kPeers = 15;
    for (std::size_t i = 0; i <= kPeers; ++i) net.add();
    for (std::size_t i = 0; i <= kPeers; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 4; i <= kPeers; ++i) net.connect(i, 0);  // inbound to node 0
    net.heartbeats(1);  // the twelve inbound peers fill node 0's mesh to D_hi
    for (std::size_t i = 1; i <= 3; ++i) net.connect(0, i);  // outbound from node 0
    net.heartbeats(1);  // their grafts pass the D_hi gate, being outbound
    const Options o;
    CHECK(net.nodes[0].router->mesh_peers(kTopic).size() > o.d_hi);
    net.heartbeats(1);
    const auto mesh = net.nodes[0].router->mesh_peers(kTopic);
    CHECK(mesh.size() == o.d);
    std::size_t outbound = 0;
    for (const auto& p : mesh) outbound += net.index.at(p) <= 3 ? 1 : 0;
    CHECK(outbound >= o.d_out);
}

TEST_CASE("opportunistic grafting adds peers scoring above a poor mesh median",
          "[gossipsub][router]") {
    Net net;
    Options hub = test_options(21);
    hub.d = 4;
    hub.d_lo = 3;
    hub.d_hi = 4;
    hub.d_score = 2;
    hub.d_out = 0;
    hub.opportunistic_graft_ticks = 5;
    hub.score.default_topic.time_in_mesh_weight = 0;
    hub.score.default_topic.first_message_deliveries_weight = 0;
    const auto b = net.add(hub);
    constexpr std::size_t kLeaves = 8;
    for (std::size_t i = 0; i < kLeaves; ++i) net.add();
    for (std::size_t i = 0; i <= kLeaves; ++i) net.subscribe(i, kTopic);
    for (std::size_t i = 1; i <= kLeaves; ++i) net.connect(i, b);
    net.heartbeats(2);
    auto mesh = net.nodes[b].router->mesh_peers(kTopic);
    REQUIRE(mesh.size() == 4);
    // The application vouches for two peers outside the mesh.
    std::vector<crypto::PeerId> good;
    for (std::size_t i = 1; i <= kLeaves && good.size() < 2; ++i) {
        const auto& id = net.nodes[i].id;
        if (std::find(mesh.begin(), mesh.end(), id) == mesh.end()) {
            good.push_back(id);
            net.nodes[b].router->set_app_score(id, 10);
        }
    }
    REQUIRE(good.size() == 2);
    // Ticks 3 and 4 change nothing; tick 5 is an opportunistic grafting tick.
    net.heartbeats(2);
    CHECK(net.nodes[b].router->mesh_peers(kTopic).size() == 4);
    net.now += std::chrono::seconds(1);
    net.apply(b, net.nodes[b].router->heartbeat(net.now));
    mesh = net.nodes[b].router->mesh_peers(kTopic);
    CHECK(mesh.size() == 6);
    for (const auto& g : good) CHECK(std::find(mesh.begin(), mesh.end(), g) != mesh.end());
}

TEST_CASE("duplicates of a rejected message count against every sender", "[gossipsub][router]") {
    Net net;
    for (std::size_t i = 0; i < 4; ++i) net.add();
    for (std::size_t i = 0; i < 4; ++i) net.subscribe(i, kTopic);
    // 0 reaches 3 through both 1 and 2.
    net.connect(0, 1);
    net.connect(0, 2);
    net.connect(1, 3);
    net.connect(2, 3);
    net.heartbeats(1);
    net.nodes[3].router->set_validator(kTopic, [](const Delivery&) { return Validation::reject; });
    net.publish(0, kTopic, "poison");
    CHECK(net.count_deliveries(3, "poison") == 0);
    CHECK(net.nodes[3].router->score(net.nodes[1].id) < 0);
    CHECK(net.nodes[3].router->score(net.nodes[2].id) < 0);
}

TEST_CASE("the router reassembles RPCs from any chunking of its stream", "[gossipsub][router]") {
    Router a(test_key(300), test_options(1));
    Router b(test_key(301), test_options(2));
    Time now{std::chrono::hours(1)};
    a.subscribe(kTopic, now);
    b.subscribe(kTopic, now);
    Bytes stream;
    auto keep = [&](Actions act) {
        for (auto& s : act.sends) append(stream, s.data);
    };
    keep(a.add_peer(b.self(), true, Protocol::v11, now));
    // b's hello tells a that b is in the topic.
    for (const auto& s : b.add_peer(a.self(), false, Protocol::v11, now).sends) {
        keep(a.handle_data(b.self(), s.data, now));
    }
    for (int i = 0; i < 5; ++i) {
        auto r = a.publish(kTopic, as_bytes("chunked " + std::to_string(i)), now);
        REQUIRE(r);
        keep(std::move(r).value());
    }
    std::size_t delivered = 0;
    for (std::size_t off = 0; off < stream.size(); ++off) {
        const auto act = b.handle_data(a.self(), ByteSpan(stream).subspan(off, 1), now);
        REQUIRE(act.disconnects.empty());
        delivered += act.deliveries.size();
    }
    CHECK(delivered == 5);
    CHECK(b.topic_peers(kTopic).size() == 1);
}
