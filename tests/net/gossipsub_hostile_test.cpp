// Hostile peers: a test peer "M" talks raw RPCs to a real router.
#include <catch2/catch.hpp>

#include "base/varint.hpp"
#include "gossipsub_harness.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;
using namespace swarmd::net::gossipsub::test;

namespace {

const std::string kTopic = "swarmd/test/zo/1";

struct Victim {
    Victim(Options o = test_options(3)) : router(test_key(100), o) {
        mallory_key = std::make_unique<crypto::PrivateKey>(test_key(666));
        mallory = crypto::PeerId::from_public_key(mallory_key->public_key());
        honest = crypto::PeerId::from_public_key(test_key(101).public_key());
        take(router.subscribe(kTopic, now));
        take(router.add_peer(mallory, false, Protocol::v11, now));
        take(router.add_peer(honest, true, Protocol::v11, now));
        pb::RPC hello;
        auto* s = hello.add_subscriptions();
        s->set_subscribe(true);
        s->set_topicid(kTopic);
        feed(honest, hello);
        feed(mallory, hello);
    }
    void take(Actions a) {
        for (auto& s : a.sends) {
            for (auto& rpc : decode_frames(s.data)) sent.emplace_back(s.peer, std::move(rpc));
            router.on_written(s.peer, s.data.size());
        }
        for (auto& d : a.deliveries) delivered.push_back(std::move(d));
        for (auto& d : a.disconnects) disconnects.push_back(std::move(d));
        for (auto& c : a.connects) connects.push_back(std::move(c));
    }
    void feed(const crypto::PeerId& from, const pb::RPC& rpc) {
        take(router.handle_data(from, frame(rpc), now));
    }
    void tick(int n = 1) {
        for (int i = 0; i < n; ++i) {
            now += std::chrono::seconds(1);
            take(router.heartbeat(now));
        }
    }
    std::size_t forwarded_to(const crypto::PeerId& peer) const {
        std::size_t n = 0;
        for (const auto& [p, rpc] : sent) n += p == peer ? rpc.publish_size() : 0;
        return n;
    }
    std::vector<pb::ControlPrune> prunes_to(const crypto::PeerId& peer) const {
        std::vector<pb::ControlPrune> out;
        for (const auto& [p, rpc] : sent) {
            if (p == peer) {
                for (const auto& pr : rpc.control().prune()) out.push_back(pr);
            }
        }
        return out;
    }
    std::size_t iwant_ids_to(const crypto::PeerId& peer) const {
        std::size_t n = 0;
        for (const auto& [p, rpc] : sent) {
            if (p == peer) {
                for (const auto& iw : rpc.control().iwant()) n += iw.messageids_size();
            }
        }
        return n;
    }

    Time now{std::chrono::hours(2)};
    Router router;
    std::unique_ptr<crypto::PrivateKey> mallory_key;
    crypto::PeerId mallory;
    crypto::PeerId honest;
    std::vector<std::pair<crypto::PeerId, pb::RPC>> sent;
    std::vector<Delivery> delivered;
    std::vector<Disconnect> disconnects;
    std::vector<Connect> connects;
};

pb::RPC rpc_with(const pb::Message& m) {
    pb::RPC rpc;
    *rpc.add_publish() = m;
    return rpc;
}

pb::RPC graft_rpc(const std::string& topic) {
    pb::RPC rpc;
    rpc.mutable_control()->add_graft()->set_topicid(topic);
    return rpc;
}

}  // namespace

TEST_CASE("badly signed messages are rejected and counted against the sender",
          "[gossipsub][hostile]") {
    Victim v;
    auto m = make_signed_message(*v.mallory_key, v.mallory, kTopic, as_bytes("evil"), 1, false);
    m.set_data("tampered");
    v.feed(v.mallory, rpc_with(m));
    CHECK(v.delivered.empty());
    CHECK(v.forwarded_to(v.honest) == 0);
    CHECK(v.router.score(v.mallory) < 0);
    CHECK(v.router.stats().rejected() == 1);

    // The forgery does not shadow the real message with the same id.
    const auto real =
        make_signed_message(*v.mallory_key, v.mallory, kTopic, as_bytes("evil"), 1, false);
    v.feed(v.mallory, rpc_with(real));
    CHECK(v.delivered.size() == 1);
}

TEST_CASE("unsigned messages are rejected", "[gossipsub][hostile]") {
    Victim v;
    pb::Message m;
    m.set_data("no signature");
    m.set_topic(kTopic);
    v.feed(v.mallory, rpc_with(m));
    m.set_from(std::string(as_string_view(v.mallory.bytes())));
    m.set_seqno(encode_seqno(5));
    v.feed(v.mallory, rpc_with(m));
    CHECK(v.delivered.empty());
    CHECK(v.router.stats().rejected() == 2);
    CHECK(v.router.score(v.mallory) < 0);
}

TEST_CASE("messages forged in our name are rejected", "[gossipsub][hostile]") {
    Victim v;
    pb::Message m;
    m.set_from(std::string(as_string_view(v.router.self().bytes())));
    m.set_seqno(encode_seqno(99));
    m.set_signature(std::string(64, 'x'));
    m.set_topic(kTopic);
    v.feed(v.mallory, rpc_with(m));
    CHECK(v.delivered.empty());
    CHECK(v.router.score(v.mallory) < 0);
}

TEST_CASE("an oversized RPC drops the peer before its body arrives", "[gossipsub][hostile]") {
    Victim v;
    Bytes prefix;
    varint_append(prefix, Options::kMaxRpcSize + 1);
    v.take(v.router.handle_data(v.mallory, prefix, v.now));
    REQUIRE(v.disconnects.size() == 1);
    CHECK(v.disconnects[0].peer == v.mallory);
    CHECK(v.disconnects[0].reason == make_error_code(Errc::rpc_too_large));
    CHECK_FALSE(v.router.has_peer(v.mallory));
    // The router carries on with the others.
    v.take(v.router.handle_data(v.mallory, Bytes(100, 0), v.now));
    CHECK(v.router.has_peer(v.honest));
}

TEST_CASE("a malformed RPC drops the peer", "[gossipsub][hostile]") {
    Victim v;
    Bytes junk;
    net::append_length_prefixed(junk, Bytes{0xff, 0xff, 0xff, 0xff});
    v.take(v.router.handle_data(v.mallory, junk, v.now));
    REQUIRE(v.disconnects.size() == 1);
    CHECK(v.disconnects[0].reason == make_error_code(Errc::malformed_rpc));
}

TEST_CASE("IHAVE floods are capped per heartbeat and broken promises penalised",
          "[gossipsub][hostile]") {
    Victim v;
    std::uint64_t next = 1;
    std::vector<pb::RPC> flood;
    for (int r = 0; r < 20; ++r) {
        pb::RPC rpc;
        auto* ih = rpc.mutable_control()->add_ihave();
        ih->set_topicid(kTopic);
        for (int i = 0; i < 600; ++i) ih->add_messageids("fake-id-" + std::to_string(next++));
        flood.push_back(rpc);
        v.feed(v.mallory, rpc);
    }
    // At most max_ihave_length ids are asked per heartbeat: eight IHAVEs of 600 and 200 of the
    // ninth; one promise tracked per IHAVE answered.
    CHECK(v.iwant_ids_to(v.mallory) == Options::kMaxIHaveLength);
    CHECK(v.router.pending_promises() == 9);

    // The same flood next heartbeat: the caps reset, but ids already asked are not asked again
    // while their promise runs. The first eight IHAVEs hold only such ids, the ninth and tenth
    // bring 400 + 600 new ones, and the rest are past the 10-IHAVE cap.
    v.tick();
    for (const auto& rpc : flood) v.feed(v.mallory, rpc);
    CHECK(v.iwant_ids_to(v.mallory) == Options::kMaxIHaveLength + 1000);
    CHECK(v.router.pending_promises() == 11);
    CHECK(v.router.score(v.mallory) == 0);
    v.tick(4);  // past the 3 s followup: 11 broken promises, P7 ≈ (11 - 6)² × -10
    CHECK(v.router.pending_promises() == 0);
    CHECK(v.router.score(v.mallory) < -200);
}

TEST_CASE("IHAVE for topics we are not in is ignored", "[gossipsub][hostile]") {
    Victim v;
    pb::RPC rpc;
    auto* ih = rpc.mutable_control()->add_ihave();
    ih->set_topicid("some/other/topic");
    ih->add_messageids("x");
    v.feed(v.mallory, rpc);
    CHECK(v.iwant_ids_to(v.mallory) == 0);
}

TEST_CASE("GRAFT during backoff is refused and penalised", "[gossipsub][hostile]") {
    Victim v;
    v.feed(v.mallory, graft_rpc(kTopic));
    auto mesh = v.router.mesh_peers(kTopic);
    REQUIRE(std::find(mesh.begin(), mesh.end(), v.mallory) != mesh.end());
    // Mallory leaves the mesh with a PRUNE, then keeps grafting.
    pb::RPC prune;
    auto* p = prune.mutable_control()->add_prune();
    p->set_topicid(kTopic);
    p->set_backoff(60);
    v.feed(v.mallory, prune);
    CHECK(v.router.in_backoff(v.mallory, kTopic, v.now));
    for (int i = 0; i < 4; ++i) v.feed(v.mallory, graft_rpc(kTopic));
    mesh = v.router.mesh_peers(kTopic);
    CHECK(std::find(mesh.begin(), mesh.end(), v.mallory) == mesh.end());
    const auto prunes = v.prunes_to(v.mallory);
    REQUIRE(prunes.size() == 4);
    CHECK(prunes[0].peers_size() == 0);  // no PX for a misbehaving peer
    // Each refused GRAFT inside the flood threshold costs 2: penalty 8 > threshold 6.
    CHECK(v.router.score(v.mallory) < 0);
}

TEST_CASE("GRAFT for an unknown topic is ignored", "[gossipsub][hostile]") {
    Victim v;
    v.feed(v.mallory, graft_rpc("not/ours"));
    CHECK(v.prunes_to(v.mallory).empty());
    CHECK(v.router.mesh_peers("not/ours").empty());
}

TEST_CASE("IWANT retransmissions are capped per peer", "[gossipsub][hostile]") {
    Victim v;
    auto published = v.router.publish(kTopic, as_bytes("payload"), v.now);
    REQUIRE(published);
    v.take(std::move(published).value());
    const auto before = v.forwarded_to(v.mallory);
    const MessageId id = std::string(as_string_view(v.router.self().bytes())) + encode_seqno(1000);
    pb::RPC iwant;
    iwant.mutable_control()->add_iwant()->add_messageids(id);
    for (int i = 0; i < 10; ++i) v.feed(v.mallory, iwant);
    CHECK(v.forwarded_to(v.mallory) - before == Options::kGossipRetransmission);
}

TEST_CASE("a peer that stops reading is dropped at its queue cap", "[gossipsub][hostile]") {
    Options o = test_options(5);
    o.max_outbound_queue_bytes = 4000;
    Router router(test_key(200), o);
    Time now{std::chrono::hours(3)};
    const auto slow = crypto::PeerId::from_public_key(test_key(201).public_key());
    const auto fast = crypto::PeerId::from_public_key(test_key(202).public_key());
    router.subscribe(kTopic, now);
    router.add_peer(slow, true, Protocol::v11, now);
    for (const auto& send : router.add_peer(fast, true, Protocol::v11, now).sends) {
        router.on_written(fast, send.data.size());
    }
    pb::RPC hello;
    auto* s = hello.add_subscriptions();
    s->set_subscribe(true);
    s->set_topicid(kTopic);
    router.handle_rpc(slow, as_bytes(hello.SerializeAsString()), now);
    router.handle_rpc(fast, as_bytes(hello.SerializeAsString()), now);
    std::vector<Disconnect> dropped;
    for (int i = 0; i < 20; ++i) {
        auto r = router.publish(kTopic, Bytes(500, static_cast<std::uint8_t>(i)), now);
        REQUIRE(r);
        for (const auto& send : r.value().sends) {
            if (send.peer == fast) router.on_written(fast, send.data.size());
        }
        for (auto& d : r.value().disconnects) dropped.push_back(d);
    }
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].peer == slow);
    CHECK(dropped[0].reason == make_error_code(Errc::outbound_queue_full));
    CHECK_FALSE(router.has_peer(slow));
    CHECK(router.has_peer(fast));
    CHECK(router.queued_bytes(fast) == 0);
}

TEST_CASE("a graylisted peer is ignored entirely", "[gossipsub][hostile]") {
    Victim v;
    // Eleven invalid messages: P4 = 11² × -100 < graylist -10000.
    for (int i = 0; i < 11; ++i) {
        auto m =
            make_signed_message(*v.mallory_key, v.mallory, kTopic, as_bytes("x"), 10 + i, false);
        m.set_data("y");
        v.feed(v.mallory, rpc_with(m));
    }
    REQUIRE(v.router.score(v.mallory) < Options{}.thresholds.graylist);
    const auto good =
        make_signed_message(*v.mallory_key, v.mallory, kTopic, as_bytes("ok"), 50, false);
    v.feed(v.mallory, rpc_with(good));
    CHECK(v.delivered.empty());
    CHECK(v.router.stats().graylisted_rpcs == 1);
}

TEST_CASE("topics per peer are capped", "[gossipsub][hostile]") {
    Victim v;
    pb::RPC rpc;
    for (int i = 0; i < 1000; ++i) {
        auto* s = rpc.add_subscriptions();
        s->set_subscribe(true);
        s->set_topicid("spam/" + std::to_string(i));
    }
    v.feed(v.mallory, rpc);
    std::size_t known = 0;
    for (int i = 0; i < 1000; ++i)
        known += v.router.topic_peers("spam/" + std::to_string(i)).size();
    CHECK(known == Options::kMaxTopicsPerPeer - 1);  // one slot holds kTopic
}

TEST_CASE("peer exchange is followed only from peers at or above accept_px",
          "[gossipsub][hostile]") {
    auto px_prune = [](const std::string& topic, std::uint32_t offered_key) {
        pb::RPC rpc;
        auto* p = rpc.mutable_control()->add_prune();
        p->set_topicid(topic);
        p->set_backoff(60);
        const auto offered = crypto::PeerId::from_public_key(test_key(offered_key).public_key());
        p->add_peers()->set_peerid(std::string(as_string_view(offered.bytes())));
        p->add_peers()->set_peerid("not a peer id");
        return rpc;
    };
    Victim v;
    v.feed(v.mallory, graft_rpc(kTopic));
    v.feed(v.mallory, px_prune(kTopic, 700));
    REQUIRE(v.connects.size() == 1);  // the malformed id is skipped
    CHECK(v.connects[0].peer == crypto::PeerId::from_public_key(test_key(700).public_key()));

    // Once Mallory's score is negative, its PX is ignored.
    auto bad = make_signed_message(*v.mallory_key, v.mallory, kTopic, as_bytes("x"), 3, false);
    bad.set_data("forged");
    v.feed(v.mallory, rpc_with(bad));
    REQUIRE(v.router.score(v.mallory) < 0);
    v.tick(70);  // past the backoff
    v.feed(v.mallory, graft_rpc(kTopic));
    v.feed(v.mallory, px_prune(kTopic, 701));
    CHECK(v.connects.size() == 1);
}
