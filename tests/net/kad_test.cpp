#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "base/encoding.hpp"
#include "crypto/keys.hpp"
#include "net/kad.hpp"
#include "net/kad.pb.h"

using namespace swarmd;
using namespace swarmd::net;
using namespace swarmd::net::kad;

namespace {

crypto::PeerId peer_n(std::uint32_t n) {
    Bytes seed(32, 0);
    for (int i = 0; i < 4; ++i) seed[static_cast<std::size_t>(i)] = (n >> (8 * i)) & 0xff;
    seed[31] = 0x5a;
    return crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(seed).public_key());
}

Multiaddr addr_n(std::uint32_t n) {
    const std::string ip = "10." + std::to_string((n >> 16) & 0xff) + "." +
                           std::to_string((n >> 8) & 0xff) + "." + std::to_string(n & 0xff);
    return Multiaddr::from_ip_tcp(ip, 4001).value();
}

PeerInfo info_n(std::uint32_t n) { return PeerInfo{peer_n(n), {addr_n(n)}, {}}; }

Bytes serialize(const pb::Message& msg) {
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

void add_pb_peer(pb::Message::Peer* p, std::uint32_t n) {
    const Bytes id = peer_n(n).bytes();
    p->set_id(id.data(), id.size());
    const Bytes a = addr_n(n).to_bytes();
    p->add_addrs(a.data(), a.size());
}

const Time t0{std::chrono::hours(1)};

}  // namespace

// ---- codec ------------------------------------------------------------------------------------

TEST_CASE("kad messages round-trip every field", "[kad]") {
    Message m;
    m.type = MessageType::get_providers;
    m.key = rendezvous_key("floodsub:swarm");
    m.record = Record{Bytes{1, 2, 3}, Bytes{4, 5}, "2026-12-07T00:00:00Z"};
    m.closer_peers = {info_n(1), info_n(2)};
    m.closer_peers[1].connection = ConnectionType::connected;
    m.closer_peers[1].addrs.push_back(Multiaddr::parse("/ip6/::1/tcp/5/p2p-circuit").value());
    m.provider_peers = {info_n(3)};

    auto body = encode_message(m);
    REQUIRE(body);
    auto back = decode_message(body.value());
    REQUIRE(back);
    const Message& d = back.value();
    CHECK(d.type == MessageType::get_providers);
    CHECK(d.key == m.key);
    REQUIRE(d.record);
    CHECK(d.record->key == Bytes{1, 2, 3});
    CHECK(d.record->value == Bytes{4, 5});
    CHECK(d.record->time_received == "2026-12-07T00:00:00Z");
    REQUIRE(d.closer_peers.size() == 2);
    CHECK(d.closer_peers[0].id == peer_n(1));
    CHECK(d.closer_peers[0].addrs == m.closer_peers[0].addrs);
    CHECK(d.closer_peers[1].connection == ConnectionType::connected);
    CHECK(d.closer_peers[1].addrs == m.closer_peers[1].addrs);
    REQUIRE(d.provider_peers.size() == 1);
    CHECK(d.provider_peers[0].id == peer_n(3));

    for (MessageType t : {MessageType::put_value, MessageType::get_value, MessageType::add_provider,
                          MessageType::find_node, MessageType::ping}) {
        Message simple;
        simple.type = t;
        auto round = decode_message(encode_message(simple).value());
        REQUIRE(round);
        CHECK(round.value().type == t);
    }
}

TEST_CASE("kad decodes a proto3 sender's omitted defaults", "[kad]") {
    // An empty body is a PUT_VALUE with nothing set, as go encodes it.
    auto empty = decode_message({});
    REQUIRE(empty);
    CHECK(empty.value().type == MessageType::put_value);
    CHECK(empty.value().closer_peers.empty());
}

TEST_CASE("kad refuses oversized and overfull messages", "[kad]") {
    Limits small;
    small.max_message_size = 200;
    Message m;
    m.type = MessageType::find_node;
    for (std::uint32_t i = 0; i < 10; ++i) m.closer_peers.push_back(info_n(i));
    CHECK(encode_message(m, small).error() == Errc::message_too_large);
    const Bytes body = encode_message(m).value();
    REQUIRE(body.size() > small.max_message_size);
    CHECK(decode_message(body, small).error() == Errc::message_too_large);

    pb::Message many;
    many.set_type(pb::Message::FIND_NODE);
    for (std::uint32_t i = 0; i < 60; ++i) add_pb_peer(many.add_closerpeers(), i);
    for (std::uint32_t i = 0; i < 41; ++i) add_pb_peer(many.add_providerpeers(), i);
    CHECK(decode_message(serialize(many)).error() == Errc::too_many_peers);
    many.mutable_providerpeers()->RemoveLast();
    CHECK(decode_message(serialize(many)));

    pb::Message addrs;
    addrs.set_type(pb::Message::FIND_NODE);
    auto* p = addrs.add_closerpeers();
    add_pb_peer(p, 1);
    const Bytes a = addr_n(1).to_bytes();
    for (std::size_t i = 1; i < Limits::kDefaultMaxAddrsPerPeer; ++i)
        p->add_addrs(a.data(), a.size());
    CHECK(decode_message(serialize(addrs)));
    p->add_addrs(a.data(), a.size());
    CHECK(decode_message(serialize(addrs)).error() == Errc::too_many_addrs);
    PeerInfo fat = info_n(1);
    fat.addrs.assign(Limits::kDefaultMaxAddrsPerPeer + 1, addr_n(1));
    Message fat_msg;
    fat_msg.closer_peers = {fat};
    CHECK(encode_message(fat_msg).error() == Errc::too_many_addrs);

    pb::Message key;
    key.set_type(pb::Message::GET_PROVIDERS);
    key.set_key(std::string(Limits::kDefaultMaxKeySize + 1, 'k'));
    CHECK(decode_message(serialize(key)).error() == Errc::key_too_long);

    pb::Message record;
    record.mutable_record()->set_value(std::string(Limits::kDefaultMaxRecordSize + 1, 'v'));
    CHECK(decode_message(serialize(record)).error() == Errc::record_too_large);
}

TEST_CASE("kad refuses truncated, mistyped and malformed messages", "[kad]") {
    Message m;
    m.type = MessageType::find_node;
    m.key = peer_n(9).bytes();
    m.closer_peers = {info_n(1), info_n(2)};
    const Bytes body = encode_message(m).value();
    // Cut inside the last peer: its length prefix promises more than there is.
    const Bytes cut(body.begin(), body.end() - 1);
    CHECK(decode_message(cut).error() == Errc::malformed_message);
    // Every prefix decodes or fails cleanly; none yields the two peers.
    for (std::size_t n = 0; n < body.size(); ++n) {
        auto r = decode_message(ByteSpan(body.data(), n));
        if (r) CHECK(r.value().closer_peers.size() < 2);
    }

    pb::Message type;
    type.set_type(pb::Message::PING);
    Bytes typed = serialize(type);
    REQUIRE(typed == Bytes{0x08, 0x05});
    typed[1] = 42;
    CHECK(decode_message(typed).error() == Errc::unknown_message_type);

    pb::Message bad_id;
    bad_id.add_closerpeers()->set_id("not a multihash");
    CHECK(decode_message(serialize(bad_id)).error() == Errc::bad_peer_id);
    pb::Message no_id;
    no_id.add_closerpeers();
    CHECK(decode_message(serialize(no_id)).error() == Errc::bad_peer_id);

    pb::Message bad_addr;
    auto* p = bad_addr.add_closerpeers();
    add_pb_peer(p, 1);
    p->add_addrs(std::string("\x04\x01\x02", 3));  // ip4 cut short
    CHECK(decode_message(serialize(bad_addr)).error() == Errc::bad_multiaddr);

    // An address of a protocol swarmd does not know is skipped, the peer kept.
    pb::Message unknown_addr;
    auto* q = unknown_addr.add_closerpeers();
    add_pb_peer(q, 1);
    q->add_addrs(std::string("\xbd\x03", 2));  // webtransport (0x01bd)
    auto kept = decode_message(serialize(unknown_addr));
    REQUIRE(kept);
    REQUIRE(kept.value().closer_peers.size() == 1);
    CHECK(kept.value().closer_peers[0].addrs == std::vector<Multiaddr>{addr_n(1)});

    const Bytes garbage{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(decode_message(garbage).error() == Errc::malformed_message);
}

// ---- key space --------------------------------------------------------------------------------

TEST_CASE("kad key space: XOR distance and common prefix length", "[kad]") {
    Key::Bits a{}, b{};
    CHECK(common_prefix_length(Key(a), Key(b)) == 256);
    b[0] = 0x80;
    CHECK(common_prefix_length(Key(a), Key(b)) == 0);
    b[0] = 0x01;
    CHECK(common_prefix_length(Key(a), Key(b)) == 7);
    b[0] = 0;
    b[3] = 0x10;
    CHECK(common_prefix_length(Key(a), Key(b)) == 27);
    CHECK(distance(Key(a), Key(b))[3] == 0x10);
    CHECK(distance(Key(b), Key(b)) == Distance{});

    const Key base = Key::from_peer(peer_n(1));
    const Bytes random(32, 0xa5);
    for (std::size_t cpl = 0; cpl < 256; ++cpl)
        CHECK(common_prefix_length(base, key_in_bucket(base, cpl, random)) == cpl);

    CHECK(Key::from_bytes(as_bytes("abc")).bits() ==
          Key::Bits{0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad});
}

TEST_CASE("kad rendezvous key is the sha2-256 multihash, logged as a raw CIDv1", "[kad]") {
    const Bytes key = rendezvous_key("abc");
    REQUIRE(key.size() == 34);
    CHECK(key[0] == 0x12);
    CHECK(key[1] == 0x20);
    CHECK(hex_encode(ByteSpan(key).subspan(2)) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string cid = key_cid(key);
    CHECK(cid.rfind("bafkrei", 0) == 0);
    auto decoded = base32_decode(std::string_view(cid).substr(1));
    REQUIRE(decoded);
    CHECK(decoded.value() == [&] {
        Bytes c{0x01, 0x55};
        append(c, key);
        return c;
    }());
}

// ---- routing table ----------------------------------------------------------------------------

TEST_CASE("kad routing table places peers by common prefix length", "[kad]") {
    RoutingTable table(peer_n(0));
    CHECK(table.add(info_n(0), t0).outcome == RoutingTable::Outcome::ignored);
    std::size_t added = 0;
    for (std::uint32_t i = 1; i <= 400; ++i) {
        const auto r = table.add(info_n(i), t0);
        if (r.outcome == RoutingTable::Outcome::added) ++added;
        const std::size_t cpl = common_prefix_length(table.self_key(), Key::from_peer(peer_n(i)));
        CHECK(table.bucket_index(Key::from_peer(peer_n(i))) == cpl);
    }
    CHECK(table.size() == added);
    // Bucket 0 holds half the key space: it is full; the deep buckets hold everything offered.
    CHECK(table.bucket_size(0) == kBucketSize);
    CHECK(table.size() < 400);
    std::size_t total = 0;
    for (std::size_t b = 0; b < 256; ++b) {
        CHECK(table.bucket_size(b) <= kBucketSize);
        total += table.bucket_size(b);
    }
    CHECK(total == table.size());
    REQUIRE(table.deepest_nonempty_bucket());
    CHECK(table.bucket_size(*table.deepest_nonempty_bucket()) > 0);

    const Key target = Key::from_peer(peer_n(77));
    const auto near = table.closest(target, 10);
    REQUIRE(near.size() == 10);
    for (std::size_t i = 1; i < near.size(); ++i)
        CHECK(distance(near[i - 1]->key, target) < distance(near[i]->key, target));
}

TEST_CASE("kad routing table keeps old peers and evicts only on a failed ping", "[kad]") {
    RoutingOptions o;
    o.replacement_cache_size = 3;
    RoutingTable table(peer_n(0), o);
    // Collect peers that all fall in bucket 0.
    std::vector<std::uint32_t> bucket0;
    for (std::uint32_t i = 1; bucket0.size() < kBucketSize + 6; ++i) {
        if (table.bucket_index(Key::from_peer(peer_n(i))) == 0) bucket0.push_back(i);
    }
    Time now = t0;
    for (std::size_t i = 0; i < kBucketSize; ++i) {
        now += std::chrono::seconds(1);
        CHECK(table.add(info_n(bucket0[i]), now).outcome == RoutingTable::Outcome::added);
    }
    // Full: the newcomer waits, and the least recently seen entry is named for a ping.
    auto r = table.add(info_n(bucket0[20]), now);
    CHECK(r.outcome == RoutingTable::Outcome::pending);
    REQUIRE(r.oldest);
    CHECK(*r.oldest == peer_n(bucket0[0]));
    CHECK_FALSE(table.contains(peer_n(bucket0[20])));

    // It answered: now the second oldest is named.
    table.touch(peer_n(bucket0[0]), now);
    r = table.add(info_n(bucket0[21]), now);
    CHECK(r.outcome == RoutingTable::Outcome::pending);
    CHECK(*r.oldest == peer_n(bucket0[1]));
    // Seen again: moves to the back too.
    CHECK(table.add(info_n(bucket0[1]), now).outcome == RoutingTable::Outcome::updated);
    CHECK(*table.add(info_n(bucket0[21]), now).oldest == peer_n(bucket0[2]));

    // More newcomers than the cache holds: only the 3 most recent stay (21 was re-offered last
    // above, then 22, 23, 24 push 20 and 21 out).
    for (std::size_t i = 22; i < 25; ++i) table.add(info_n(bucket0[i]), now);
    CHECK(table.remove(peer_n(bucket0[2])));
    CHECK(table.contains(peer_n(bucket0[24])));  // the most recent replacement took the slot
    CHECK(table.remove(peer_n(bucket0[3])));
    CHECK(table.contains(peer_n(bucket0[23])));
    CHECK(table.remove(peer_n(bucket0[4])));
    CHECK(table.contains(peer_n(bucket0[22])));
    CHECK(table.remove(peer_n(bucket0[5])));
    CHECK_FALSE(table.contains(peer_n(bucket0[21])));
    CHECK_FALSE(table.contains(peer_n(bucket0[20])));
    CHECK(table.size() == kBucketSize - 1);
    CHECK_FALSE(table.remove(peer_n(bucket0[5])));

    // Addresses are bounded.
    PeerInfo many = info_n(bucket0[25]);
    many.addrs.assign(100, addr_n(1));
    table.add(many, now);
    REQUIRE(table.find(many.id));
    CHECK(table.find(many.id)->addrs.size() == o.max_addrs_per_peer);
}

// ---- lookup over a simulated network ----------------------------------------------------------

namespace {

struct SimNode {
    crypto::PeerId id;
    RoutingTable table;
    ProviderStore providers;
    bool alive = true;
};

struct SimNetwork {
    std::vector<std::unique_ptr<SimNode>> nodes;
    std::unordered_map<crypto::PeerId, SimNode*> by_id;

    explicit SimNetwork(std::uint32_t n, double dead_fraction, std::uint32_t seed) {
        std::mt19937 rng(seed);
        for (std::uint32_t i = 0; i < n; ++i) {
            auto node =
                std::make_unique<SimNode>(SimNode{peer_n(i + 1000), RoutingTable(peer_n(i + 1000)),
                                                  ProviderStore(ProviderOptions{})});
            node->alive = i == 0 || std::uniform_real_distribution<>(0, 1)(rng) >= dead_fraction;
            by_id.emplace(node->id, node.get());
            nodes.push_back(std::move(node));
        }
        // Every node hears of every other in a random order; the k-buckets keep what they keep.
        std::vector<PeerInfo> infos;
        for (std::uint32_t i = 0; i < n; ++i) infos.push_back({nodes[i]->id, {addr_n(i)}, {}});
        for (auto& node : nodes) {
            std::shuffle(infos.begin(), infos.end(), rng);
            for (const PeerInfo& info : infos) node->table.add(info, t0);
        }
    }

    // One request through the real codec and handler; nullopt when the node is dead.
    std::optional<Message> ask(const crypto::PeerId& from, const crypto::PeerId& to,
                               const Message& request, Time now) {
        SimNode* node = by_id.at(to);
        if (!node->alive) return std::nullopt;
        auto req = decode_message(encode_message(request).value());
        REQUIRE(req);
        auto resp = handle_request(from, req.value(), node->table, node->providers, now);
        REQUIRE(resp);
        if (!resp.value()) return Message{request.type, {}, {}, {}, {}};
        auto back = decode_message(encode_message(*resp.value()).value());
        REQUIRE(back);
        REQUIRE(response_matches(request, back.value()));
        return back.value();
    }

    // The k nodes closest to target (not node 0), and which of them are alive.
    std::vector<crypto::PeerId> true_closest(const Key& target, std::size_t k, bool alive_only) {
        std::vector<crypto::PeerId> all;
        for (std::size_t i = 1; i < nodes.size(); ++i) all.push_back(nodes[i]->id);
        std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
            return distance(Key::from_peer(a), target) < distance(Key::from_peer(b), target);
        });
        all.resize(std::min(k, all.size()));
        if (alive_only) std::erase_if(all, [&](const auto& id) { return !by_id.at(id)->alive; });
        return all;
    }

    // Runs a FIND_NODE lookup from node 0; dead peers time out.
    std::vector<PeerInfo> lookup(const Key& target, Bytes key, LookupOptions o, Time& now,
                                 std::size_t* max_in_flight, std::size_t* queries) {
        SimNode& self = *nodes[0];
        std::vector<PeerInfo> seeds;
        for (const auto* e : self.table.closest(target, o.k))
            seeds.push_back({e->id, e->addrs, {}});
        Lookup lookup(self.id, target, seeds, o);
        Message request;
        request.type = MessageType::find_node;
        request.key = std::move(key);
        while (!lookup.done()) {
            const auto batch = lookup.next(now);
            *max_in_flight = std::max(*max_in_flight, lookup.in_flight());
            bool answered = false;
            for (const PeerInfo& peer : batch) {
                ++*queries;
                if (auto resp = ask(self.id, peer.id, request, now)) {
                    lookup.on_response(peer.id, resp->closer_peers, now);
                    answered = true;
                }
            }
            if (!answered && batch.empty()) {
                const auto deadline = lookup.next_deadline();
                REQUIRE(deadline);  // not done, nothing to send: someone must be in flight
                now = *deadline;
            }
        }
        return lookup.closest();
    }
};

}  // namespace

TEST_CASE("kad lookup over 1000 simulated nodes converges to the true k closest", "[kad]") {
    const double dead = GENERATE(0.0, 0.15);
    SimNetwork net(1000, dead, 7);
    Time now = t0;
    for (std::uint32_t t = 0; t < 5; ++t) {
        const Bytes key = rendezvous_key("floodsub:target-" + std::to_string(t));
        const Key target = Key::from_bytes(key);
        LookupOptions o;
        std::size_t max_in_flight = 0, queries = 0;
        const auto found = net.lookup(target, key, o, now, &max_in_flight, &queries);
        std::vector<crypto::PeerId> ids;
        for (const auto& p : found) ids.push_back(p.id);
        INFO("dead fraction " << dead << ", target " << t << ", " << queries << " queries");
        if (dead == 0.0) {
            CHECK(ids == net.true_closest(target, kBucketSize, false));
        } else {
            // Every node still names its dead neighbours (nobody evicted them yet), so beyond
            // the k closest overall nobody is named; the live ones among those are all found,
            // and the rest of the answer is live nodes only.
            CHECK(ids.size() == kBucketSize);
            for (const auto& id : net.true_closest(target, kBucketSize, true))
                CHECK(std::count(ids.begin(), ids.end(), id) == 1);
            for (const auto& id : ids) CHECK(net.by_id.at(id)->alive);
        }
        CHECK(std::is_sorted(ids.begin(), ids.end(), [&](const auto& a, const auto& b) {
            return distance(Key::from_peer(a), target) < distance(Key::from_peer(b), target);
        }));
        CHECK(max_in_flight <= o.alpha);
        CHECK(queries < 200);  // a lookup asks a small part of the network
        CHECK(now - t0 <= std::chrono::minutes(10) * (t + 1));
    }
}

TEST_CASE("kad lookup honours alpha, timeouts and ignores unasked answers", "[kad]") {
    std::vector<PeerInfo> seeds;
    for (std::uint32_t i = 1; i <= 30; ++i) seeds.push_back(info_n(i));
    LookupOptions o;
    o.alpha = 5;
    o.request_timeout = std::chrono::seconds(3);
    const Key target = Key::from_peer(peer_n(999));
    Lookup lookup(peer_n(0), target, seeds, o);
    auto first = lookup.next(t0);
    CHECK(first.size() == 5);
    CHECK(lookup.next(t0).empty());  // alpha in flight
    CHECK(lookup.next_deadline() == t0 + std::chrono::seconds(3));
    // An answer from a peer never asked changes nothing.
    lookup.on_response(peer_n(500), {info_n(501)}, t0);
    CHECK(lookup.in_flight() == 5);
    // Timeouts free the slots.
    auto second = lookup.next(t0 + std::chrono::seconds(3));
    CHECK(second.size() == 5);
    for (const auto& p : first) {
        CHECK(std::none_of(second.begin(), second.end(),
                           [&](const PeerInfo& q) { return q.id == p.id; }));
    }
    // A late answer from a timed-out peer is ignored.
    lookup.on_response(first[0].id, {}, t0 + std::chrono::seconds(4));
    CHECK(lookup.closest().empty());
    for (const auto& p : second) lookup.on_failure(p.id);
    CHECK(lookup.in_flight() == 0);
    CHECK_FALSE(lookup.done());
    // Drain: everybody answers with nothing new; done once the 20 closest alive answered.
    Time now = t0 + std::chrono::seconds(5);
    while (!lookup.done()) {
        auto batch = lookup.next(now);
        REQUIRE_FALSE(batch.empty());
        for (const auto& p : batch) lookup.on_response(p.id, {}, now);
    }
    CHECK(lookup.closest().size() == 20);  // 30 seeds - 10 failed
    CHECK(lookup.next(now).empty());

    // The candidate set is bounded.
    LookupOptions tiny;
    tiny.max_candidates = 10;
    Lookup bounded(peer_n(0), target, seeds, tiny);
    auto asked = bounded.next(t0);
    std::vector<PeerInfo> flood;
    for (std::uint32_t i = 2000; i < 2500; ++i) flood.push_back(info_n(i));
    bounded.on_response(asked[0].id, flood, t0);
    std::size_t total = 0;
    while (!bounded.done()) {
        auto batch = bounded.next(t0);
        if (batch.empty()) break;
        for (const auto& p : batch) {
            ++total;
            bounded.on_response(p.id, {}, t0);
        }
    }
    CHECK(total + 3 <= 10);
}

// ---- provider store and server ----------------------------------------------------------------

TEST_CASE("kad provider store caps, refresh and expiry", "[kad]") {
    ProviderOptions o;
    o.max_per_key = 3;
    o.max_records = 5;
    o.max_keys = 2;
    ProviderStore store(o);
    const Bytes k1 = rendezvous_key("one"), k2 = rendezvous_key("two"), k3 = rendezvous_key("3");
    for (std::uint32_t i = 1; i <= 3; ++i) CHECK(store.add(k1, info_n(i), t0));
    CHECK(store.add(k1, info_n(2), t0));  // a refresh is not a new record
    CHECK(store.size() == 3);
    {
        // A full key drops its stalest record for a newcomer, and answers list the newest first.
        ProviderStore full(o);
        const Time t1 = t0 + std::chrono::seconds(1), t2 = t0 + std::chrono::seconds(2);
        for (std::uint32_t i = 1; i <= 3; ++i) CHECK(full.add(k1, info_n(i), t0));
        CHECK(full.add(k1, info_n(1), t1));  // 1 re-announces: 2 and 3 are the stalest
        CHECK(full.add(k1, info_n(4), t2));
        CHECK(full.size() == 3);
        auto newest = full.get(k1, t2, 10);
        REQUIRE(newest.size() == 3);
        CHECK(newest[0].id == peer_n(4));
        CHECK(newest[1].id == peer_n(1));
        CHECK((newest[2].id == peer_n(2) || newest[2].id == peer_n(3)));
        CHECK(full.get(k1, t2, 1).at(0).id == peer_n(4));
    }
    CHECK(store.add(k2, info_n(1), t0));
    CHECK(store.add(k2, info_n(2), t0));
    CHECK(store.add(k2, info_n(3), t0).error() == Errc::provider_store_full);
    CHECK(store.add(k3, info_n(1), t0).error() == Errc::provider_store_full);
    CHECK(store.add(Bytes(o.max_key_size + 1, 1), info_n(1), t0).error() == Errc::key_too_long);
    CHECK(store.add(Bytes{}, info_n(1), t0).error() == Errc::missing_key);
    CHECK(store.get(k1, t0, 2).size() == 2);
    PeerInfo chatty = info_n(1);
    chatty.addrs.assign(100, addr_n(1));
    CHECK(store.add(k1, chatty, t0));  // a refresh, with its addresses capped
    CHECK(store.get(k1, t0, 1).at(0).addrs.size() == o.max_addrs_per_peer);
    CHECK(store.get(k3, t0, 10).empty());

    // Provider 2 of k1 re-announces at 20 h.
    const Time t20 = t0 + std::chrono::hours(20);
    CHECK(store.add(k1, info_n(2), t20));
    // At 25 h the others' addresses are no longer served; 2's still are.
    const Time t25 = t0 + std::chrono::hours(25);
    auto got = store.get(k1, t25, 10);
    REQUIRE(got.size() == 3);
    for (const auto& p : got) CHECK(p.addrs.empty() == (p.id != peer_n(2)));
    // At 48 h everything but 2's refreshed record is gone.
    const Time t48 = t0 + std::chrono::hours(48);
    got = store.get(k1, t48, 10);
    REQUIRE(got.size() == 1);
    CHECK(got[0].id == peer_n(2));
    store.expire(t48);
    CHECK(store.size() == 1);
    CHECK(store.keys() == 1);
    CHECK(store.add(k3, info_n(1), t48));
    store.expire(t0 + std::chrono::hours(100));
    CHECK(store.size() == 0);
    CHECK(store.keys() == 0);
}

TEST_CASE("kad server answers each request type", "[kad]") {
    RoutingTable table(peer_n(0));
    for (std::uint32_t i = 1; i <= 50; ++i) table.add(info_n(i), t0);
    ProviderStore store;
    const crypto::PeerId sender = peer_n(1);
    const Bytes key = rendezvous_key("floodsub:swarm");

    Message add;
    add.type = MessageType::add_provider;
    add.key = key;
    add.provider_peers = {info_n(7)};  // someone else's record
    CHECK(handle_request(sender, add, table, store, t0).error() == Errc::provider_not_sender);
    CHECK(store.size() == 0);
    add.provider_peers = {info_n(7), info_n(1)};
    auto stored = handle_request(sender, add, table, store, t0);
    REQUIRE(stored);
    CHECK_FALSE(stored.value());  // ADD_PROVIDER has no answer
    CHECK(store.size() == 1);
    add.key.clear();
    CHECK(handle_request(sender, add, table, store, t0).error() == Errc::missing_key);

    Message get;
    get.type = MessageType::get_providers;
    get.key = key;
    auto providers = handle_request(peer_n(2), get, table, store, t0);
    REQUIRE(providers);
    REQUIRE(providers.value());
    const Message& p = *providers.value();
    CHECK(response_matches(get, p));
    REQUIRE(p.provider_peers.size() == 1);
    CHECK(p.provider_peers[0].id == sender);
    CHECK(p.provider_peers[0].addrs == std::vector<Multiaddr>{addr_n(1)});
    CHECK(p.closer_peers.size() == kBucketSize);

    Message find;
    find.type = MessageType::find_node;
    find.key = peer_n(3).bytes();
    auto found = handle_request(peer_n(3), find, table, store, t0);
    REQUIRE(found);
    const auto& closer = found.value()->closer_peers;
    CHECK(closer.size() == kBucketSize);
    CHECK(std::none_of(closer.begin(), closer.end(),
                       [](const PeerInfo& q) { return q.id == peer_n(3); }));
    const auto expect = table.closest(Key::from_bytes(find.key), kBucketSize + 1);
    CHECK(closer.front().id == expect[1]->id);  // expect[0] is the asker itself

    Message ping;
    ping.type = MessageType::ping;
    auto pong = handle_request(sender, ping, table, store, t0);
    REQUIRE(pong);
    CHECK(pong.value()->type == MessageType::ping);

    Message put;
    put.type = MessageType::put_value;
    put.key = key;
    put.record = Record{key, Bytes{1}, ""};
    CHECK(handle_request(sender, put, table, store, t0).error() == Errc::unsupported_request);

    Message value;
    value.type = MessageType::get_value;
    value.key = key;
    auto empty = handle_request(sender, value, table, store, t0);
    REQUIRE(empty);
    CHECK_FALSE(empty.value()->record);

    Message wrong = *found.value();
    wrong.type = MessageType::get_providers;
    CHECK_FALSE(response_matches(find, wrong));
    wrong = *found.value();
    wrong.key = key;
    CHECK_FALSE(response_matches(find, wrong));
    wrong.key.clear();  // as go and js answer FIND_NODE
    CHECK(response_matches(find, wrong));
}
