// Hostile peers on the ZO updates topic against two real swarmd trainers, A and B, where only A
// is connected to the attackers. Each attacker is a real libp2p host in the test process with an
// identity of its own; it dials A, speaks gossipsub and records what A's router sends it.
//   - forged, unsigned, badly signed, malformed and out-of-range updates: every one rejected by
//     A and counted by reason in /metrics, none forwarded (B rejects nothing), the sender's score
//     falls below the graylist threshold, A prunes it from its mesh and ignores its next RPC;
//   - replays: a copy of an accepted message is a duplicate, the same update signed again is
//     over the author's cap, an update of an old round is stale: none reaches training twice;
//   - an RPC frame over 1 MiB and a frame that is not an RPC cost the sender its gossip link;
//   - A and B go on training throughout.
#include <catch2/catch.hpp>

#include <regex>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "net/gossipsub.hpp"
#include "net/gossipsub_message.hpp"
#include "net/host.hpp"
#include "net/length_prefixed.hpp"
#include "node/zo/wire.hpp"
#include "tests/e2e/swarm_processes.hpp"

using namespace swarmd;
using namespace swarmd::e2e;
namespace asio = boost::asio;
namespace pb = net::gossipsub::pb;

namespace {

constexpr int kEach = 5;  // messages per kind of attack
constexpr std::uint64_t kRounds = 100000;

// The default spec, long enough to outlast the test, without the author work ticket (the
// attackers' identities are free; the ticket has its own tests), and the topic it trains on.
struct TestSpec {
    fs::path path;
    std::string topic;
    std::uint64_t directions = 0;
};

TestSpec write_spec(const fs::path& dir) {
    std::string text = run_and_read({SWARMD_BINARY, "spec", "show", "--canonical"});
    text = std::regex_replace(text, std::regex("(^|\n)rounds = [0-9]+"),
                              "$1rounds = " + std::to_string(kRounds));
    text = std::regex_replace(text, std::regex("(^|\n)merge_round = [0-9]+"),
                              "$1merge_round = " + std::to_string(kRounds));
    text = std::regex_replace(text, std::regex("\nauthor_work_bits = [0-9]+"),
                              "\nauthor_work_bits = 0");
    TestSpec spec{dir / "spec.toml", {}, 0};
    fs::create_directories(dir);
    std::ofstream(spec.path) << text << "\n";
    std::smatch m;
    REQUIRE(std::regex_search(text, m, std::regex("\ndirections = ([0-9]+)")));
    spec.directions = std::stoull(m[1]);
    const auto shown = run_and_read({SWARMD_BINARY, "--spec", spec.path.string(), "spec", "show"});
    REQUIRE(std::regex_search(shown, m, std::regex("# swarm id ([0-9a-f]{64})")));
    spec.topic = "swarmd/" + m[1].str() + "/zo/1";
    return spec;
}

std::uint64_t round_of(const SwarmdProcess& node) {
    const auto s = node.status();
    return s ? (*s)["round"].get<std::uint64_t>() : 0;
}

// The node's view of one connected peer (its /api/status `links` entry), if connected.
std::optional<json> link_to(const SwarmdProcess& node, const crypto::PeerId& peer) {
    const auto s = node.status();
    if (!s) return std::nullopt;
    for (const auto& l : (*s)["links"]) {
        if (l["peer"] == peer.to_base58()) return l;
    }
    return std::nullopt;
}

// Counters whose change a phase of the test checks, read from one node.
std::map<std::string, double> counters(const SwarmdProcess& node) {
    std::map<std::string, double> out;
    for (const char* reason : {"unsigned", "bad_signature", "forged_self", "invalid"})
        out[std::string("rejected.") + reason] =
            node.metric(std::string("swarmd_gossip_rejected_total{reason=\"") + reason + "\"}");
    for (const char* reason :
         {"malformed", "unverifiable_author", "out_of_range", "stale", "over_cap"})
        out[std::string("refused.") + reason] =
            node.metric(std::string("swarmd_updates_refused_total{reason=\"") + reason + "\"}");
    for (const char* reason : {"rpc_too_large", "malformed_rpc"})
        out[std::string("dropped.") + reason] = node.metric(
            std::string("swarmd_gossip_peers_dropped_total{reason=\"") + reason + "\"}");
    out["duplicates"] = node.metric("swarmd_gossip_duplicates_total");
    out["graylisted"] = node.metric("swarmd_gossip_graylisted_rpcs_total");
    return out;
}

std::map<std::string, double> change(const std::map<std::string, double>& before,
                                     const std::map<std::string, double>& after) {
    std::map<std::string, double> out;
    for (const auto& [k, v] : after) out[k] = v - before.at(k);
    return out;
}

Bytes frame_of(const pb::RPC& rpc) {
    Bytes frame;
    net::append_length_prefixed(frame, as_bytes(rpc.SerializeAsString()));
    return frame;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// One hostile gossip peer: its own identity and one connection to the node. It answers the
// node's gossipsub stream by reading it, counting the GRAFTs and PRUNEs it is sent.
class Mallory {
  public:
    explicit Mallory(asio::io_context& io)
        : key(crypto::PrivateKey::generate()),
          id(crypto::PeerId::from_public_key(key.public_key())),
          host(io.get_executor(), key.clone()) {
        host.set_handler(std::string(net::gossipsub::kProtocolV11),
                         [this](std::shared_ptr<net::Stream> s) { return observe(std::move(s)); });
    }

    // Dials the node and subscribes to `topic` over its own gossipsub stream.
    asio::awaitable<bool> join(const std::string& addr, const std::string& topic) {
        auto c = co_await host.dial(net::Multiaddr::parse(addr).value());
        if (!c) co_return false;
        m_connection = c.value();
        auto s = co_await c.value()->open_stream(std::string(net::gossipsub::kProtocolV11));
        if (!s) co_return false;
        m_out = s.value();
        pb::RPC rpc;
        auto* sub = rpc.add_subscriptions();
        sub->set_subscribe(true);
        sub->set_topicid(topic);
        co_return co_await write(frame_of(rpc));
    }
    // Opens up to n streams of `protocol` on the connection and never reads them; returns how
    // many the node accepted.
    asio::awaitable<std::size_t> open_unread(std::size_t n, const std::string& protocol) {
        for (std::size_t i = 0; i < n && m_connection; ++i) {
            auto s = co_await m_connection->open_stream(protocol);
            if (!s) break;
            m_unread.push_back(s.value());
        }
        co_return m_unread.size();
    }
    asio::awaitable<bool> send(const std::vector<pb::Message>& messages) {
        pb::RPC rpc;
        for (const auto& m : messages) *rpc.add_publish() = m;
        co_return co_await write(frame_of(rpc));
    }
    asio::awaitable<bool> write(const Bytes& bytes) {
        if (!m_out) co_return false;
        auto w = co_await m_out->write(bytes);
        co_return w.has_value();
    }

    // A signed message of this identity (or of `signer`, claiming to be `from`).
    pb::Message message(const std::string& topic, ByteSpan data) {
        return net::gossipsub::make_signed_message(key, id, topic, data, ++m_seqno, false);
    }
    pb::Message update(const std::string& topic, std::uint64_t round, std::uint32_t index,
                       std::uint64_t seqno = 0) {
        training::Update u;
        u.round = round;
        u.index = index;
        u.q = 1;
        const auto data = node::encode_zo_message(u);
        return net::gossipsub::make_signed_message(key, id, topic, data, seqno ? seqno : ++m_seqno,
                                                   false);
    }

    crypto::PrivateKey key;
    crypto::PeerId id;
    net::Host host;
    int grafts = 0;
    int prunes = 0;

  private:
    asio::awaitable<void> observe(std::shared_ptr<net::Stream> s) {
        net::LengthPrefixedDecoder decoder(net::gossipsub::Options::kMaxRpcSize);
        Bytes buffer(64 * 1024);
        for (;;) {
            auto n = co_await s->read_some(buffer);
            if (!n || n.value() == 0) co_return;
            if (!decoder.feed(ByteSpan(buffer.data(), n.value()))) co_return;
            for (;;) {
                auto frame = decoder.next();
                if (!frame || !frame.value()) break;
                pb::RPC rpc;
                if (!rpc.ParseFromArray(frame.value()->data(),
                                        static_cast<int>(frame.value()->size())))
                    co_return;
                grafts += rpc.control().graft_size();
                prunes += rpc.control().prune_size();
            }
        }
    }

    std::shared_ptr<net::Connection> m_connection;
    std::shared_ptr<net::Stream> m_out;
    std::vector<std::shared_ptr<net::Stream>> m_unread;
    std::uint64_t m_seqno = 0;
};

// Runs `body` on a fresh io_context until it returns (at most `limit`); what it returns is a
// failure, empty when there was none. (No Catch assertions inside coroutines: GCC 12 miscompiles
// them.)
void run(const std::function<asio::awaitable<std::string>(asio::io_context&)>& body,
         std::chrono::seconds limit = std::chrono::seconds(60)) {
    asio::io_context io;
    std::optional<std::string> failure;
    asio::co_spawn(io, body(io), [&](std::exception_ptr e, std::string f) {
        failure = e ? "the attacker's task threw" : f;
        io.stop();
    });
    io.run_for(limit);
    REQUIRE(failure);
    REQUIRE(*failure == "");
}

// Trainers A and B on the test spec (in a scratch directory), B knowing only A; constructed
// once both train and are connected.
struct TrainerPair {
    TrainerPair()
        : spec(write_spec(dir.path())),
          a(SWARMD_BINARY, dir.path() / "a", {"--spec", spec.path.string()}),
          b(SWARMD_BINARY, dir.path() / "b", {"--spec", spec.path.string()}) {
        a.start({"--round-interval-ms", "40"});
        b.start({"--round-interval-ms", "40", "--bootstrap", a.p2p_addr()});
        REQUIRE(poll_until(std::chrono::seconds(60), [&] {
            return round_of(a) >= 10 && round_of(b) >= 10 && a.peers().contains(b.peer_id());
        }));
    }
    ~TrainerPair() {
        a.kill(SIGTERM);
        b.kill(SIGTERM);
    }
    ScratchDir dir;
    TestSpec spec;
    SwarmdProcess a;
    SwarmdProcess b;
};

}  // namespace

TEST_CASE("hostile updates are rejected by reason and never forwarded, and their sender is pruned",
          "[e2e][hostile]") {
    TrainerPair pair;
    const TestSpec& spec = pair.spec;
    SwarmdProcess& a = pair.a;
    SwarmdProcess& b = pair.b;
    INFO("A: " << a.log_tail() << "\nB: " << b.log_tail());
    const auto a_before = counters(a);
    const auto b_before = counters(b);
    const auto a_round = round_of(a);

    // Phase 1: one attacker, first a member of A's mesh, then every kind of bad message.
    std::optional<json> in_mesh, after_attack;
    int grafts = 0, prunes = 0;
    run([&](asio::io_context& io) -> asio::awaitable<std::string> {
        Mallory m(io);
        if (!co_await m.join(a.p2p_addr(), spec.topic)) co_return "m.join failed";
        co_await sleep_for(std::chrono::milliseconds(2500));  // A's heartbeats graft it
        in_mesh = link_to(a, m.id);

        const auto now_round = round_of(a);
        std::vector<pb::Message> bad;
        for (int i = 0; i < kEach; ++i) {
            auto unsigned_message = m.update(spec.topic, now_round, 0);
            unsigned_message.clear_signature();
            bad.push_back(unsigned_message);

            auto bad_signature = m.update(spec.topic, now_round, 0);
            (*bad_signature.mutable_signature())[5] ^= 0x40;
            bad.push_back(bad_signature);

            // Signed by the attacker in B's name, and in A's own.
            auto as_b = m.update(spec.topic, now_round, 0);
            as_b.set_from(
                std::string(as_string_view(crypto::PeerId::parse(b.peer_id()).value().bytes())));
            bad.push_back(as_b);
            auto as_a = m.update(spec.topic, now_round, 0);
            as_a.set_from(
                std::string(as_string_view(crypto::PeerId::parse(a.peer_id()).value().bytes())));
            bad.push_back(as_a);

            // Validly signed, but not an update: junk of the right size, and of another size.
            Bytes junk(node::kZoMessageSize, static_cast<std::uint8_t>(0xee - i));
            bad.push_back(m.message(spec.topic, junk));
            bad.push_back(m.message(spec.topic, Bytes(3 + i * 40, 0x01)));

            // Well-formed updates no honest node sends: round 0, beyond the merge round, and
            // an index past the spec's directions.
            bad.push_back(m.update(spec.topic, 0, 0));
            bad.push_back(m.update(spec.topic, kRounds + 1 + i, 0));
            bad.push_back(
                m.update(spec.topic, now_round, static_cast<std::uint32_t>(spec.directions + i)));
        }
        if (!co_await m.send(bad)) co_return "m.send failed";
        co_await sleep_for(std::chrono::milliseconds(2500));  // heartbeats prune it
        // Graylisted now: this RPC is ignored whole, its valid-looking update included.
        const std::vector<pb::Message> one{m.update(spec.topic, round_of(a), 0)};
        if (!co_await m.send(one)) co_return "m.send failed";
        co_await sleep_for(std::chrono::milliseconds(500));
        after_attack = link_to(a, m.id);
        grafts = m.grafts;
        prunes = m.prunes;
        m.host.stop();
        co_return "";
    });
    auto a1 = change(a_before, counters(a));
    INFO("phase 1 on A: rejected unsigned "
         << a1["rejected.unsigned"] << ", bad_signature " << a1["rejected.bad_signature"]
         << ", forged_self " << a1["rejected.forged_self"] << ", invalid " << a1["rejected.invalid"]
         << "; graylisted " << a1["graylisted"]);
    CHECK(a1["rejected.unsigned"] == kEach);
    CHECK(a1["rejected.bad_signature"] == 2 * kEach);  // a flipped byte; B's name
    CHECK(a1["rejected.forged_self"] == kEach);
    CHECK(a1["rejected.invalid"] == 5 * kEach);
    CHECK(a1["refused.malformed"] == 2 * kEach);
    CHECK(a1["refused.out_of_range"] == 3 * kEach);
    CHECK(a1["graylisted"] >= 1);
    REQUIRE(in_mesh);
    CHECK((*in_mesh)["mesh_topics"].get<int>() >= 1);
    CHECK(grafts >= 1);
    REQUIRE(after_attack);
    INFO("attacker's score on A after the attack: " << (*after_attack)["gossip_score"]);
    CHECK((*after_attack)["gossip_score"].get<double>() <= -10000.0);  // graylist threshold
    CHECK((*after_attack)["mesh_topics"].get<int>() == 0);
    CHECK(prunes >= 1);

    // Phase 2: replays, by a fresh attacker whose one valid update A accepts.
    double over_cap_expected = 0;
    run([&](asio::io_context& io) -> asio::awaitable<std::string> {
        Mallory m(io);
        if (!co_await m.join(a.p2p_addr(), spec.topic)) co_return "m.join failed";
        co_await sleep_for(std::chrono::milliseconds(500));
        const auto r = round_of(a);
        const auto original = m.update(spec.topic, r, 0);
        const std::vector<pb::Message> first{original};
        if (!co_await m.send(first)) co_return "m.send failed";
        std::vector<pb::Message> replays(kEach, original);  // the same message again
        // The same update signed again (new message ids), more often than the author's cap of
        // `directions` updates per round allows.
        for (std::uint64_t i = 0; i < spec.directions + kEach; ++i)
            replays.push_back(m.update(spec.topic, r, 0));
        over_cap_expected = static_cast<double>(kEach);
        // Rounds far behind every node's window.
        for (int i = 0; i < kEach; ++i) replays.push_back(m.update(spec.topic, 1 + i, 0));
        if (!co_await m.send(replays)) co_return "m.send failed";
        co_await sleep_for(std::chrono::milliseconds(1500));
        m.host.stop();
        co_return "";
    });
    auto a2 = change(a_before, counters(a));
    CHECK(a2["duplicates"] - a1["duplicates"] >= kEach);
    CHECK(a2["refused.over_cap"] - a1["refused.over_cap"] >= over_cap_expected);
    CHECK(a2["refused.stale"] - a1["refused.stale"] >= kEach);
    // Nothing of phase 2 was an offence: no rejection counted.
    CHECK(a2["rejected.invalid"] == a1["rejected.invalid"]);
    CHECK(a2["rejected.bad_signature"] == a1["rejected.bad_signature"]);

    // Phase 3: frames that are not gossip at all, each on its own attacker's stream.
    run([&](asio::io_context& io) -> asio::awaitable<std::string> {
        Mallory big(io);
        if (!co_await big.join(a.p2p_addr(), spec.topic)) co_return "big.join failed";
        Bytes oversized;
        varint_append(oversized, 2u << 20);  // a 2 MiB frame announced; the node reads no body
        oversized.resize(oversized.size() + 4096, 0x0a);
        co_await big.write(oversized);
        Mallory junk(io);
        if (!co_await junk.join(a.p2p_addr(), spec.topic)) co_return "junk.join failed";
        Bytes garbage;
        net::append_length_prefixed(garbage, Bytes(200, 0xff));  // not a protobuf RPC
        co_await junk.write(garbage);
        co_await sleep_for(std::chrono::milliseconds(1500));
        big.host.stop();
        junk.host.stop();
        co_return "";
    });
    auto a3 = change(a_before, counters(a));
    CHECK(a3["dropped.rpc_too_large"] == 1);
    CHECK(a3["dropped.malformed_rpc"] == 1);

    // Never forwarded: B, reachable only through A, rejected nothing and refused nothing of it.
    const auto b_all = change(b_before, counters(b));
    for (const auto& [name, value] : b_all) {
        if (name.rfind("rejected.", 0) == 0 || name == "refused.malformed" ||
            name == "refused.out_of_range" || name.rfind("dropped.", 0) == 0) {
            INFO(name << " on B");
            CHECK(value == 0);
        }
    }
    // Training went on on both.
    CHECK(poll_until(std::chrono::seconds(10), [&] { return round_of(a) > a_round + 20; }));
    CHECK(round_of(b) > a_round);
    CHECK(a.running());
    CHECK(b.running());
}

TEST_CASE(
    "a flood of valid-looking updates and unread streams neither stalls training nor "
    "grows memory past its bound",
    "[e2e][hostile]") {
    constexpr int kRate = 10000;  // messages per second
    constexpr int kPerRpc = 100;
    constexpr auto kPhase = std::chrono::seconds(6);
    constexpr std::size_t kUnreadStreams = 500;
    constexpr std::size_t kRssBoundMib = 64;
    TrainerPair pair;
    const TestSpec& spec = pair.spec;
    SwarmdProcess& a = pair.a;
    SwarmdProcess& b = pair.b;
    INFO("A: " << a.log_tail() << "\nB: " << b.log_tail());

    double baseline = 0, flooded = 0;
    std::size_t rss_before = 0, unread = 0, sent = 0;
    auto a_before = counters(a);
    run(
        [&](asio::io_context& io) -> asio::awaitable<std::string> {
            Mallory m(io);
            if (!co_await m.join(a.p2p_addr(), spec.topic)) co_return "join failed";
            rss_before = a.memory_kib("VmRSS");
            const auto r0 = round_of(a);
            co_await sleep_for(kPhase);
            const auto r1 = round_of(a);
            baseline = static_cast<double>(r1 - r0);

            unread = co_await m.open_unread(kUnreadStreams, "/ipfs/id/1.0.0");
            // Validly signed, well-formed updates of A's current round in fresh messages: each
            // costs A a signature check, and all but `directions` per round are over the
            // author's cap, ignored without a penalty. (Rounds that lag behind would also pin
            // A's pacing to this author: docs/reliability.md.)
            const std::size_t total = static_cast<std::size_t>(kRate) * kPhase.count();
            asio::steady_timer tick(io);
            auto next = Clock::now();
            auto round = r1;
            for (std::size_t i = 0; i < total; i += kPerRpc) {
                if (i % (kRate / 4) == 0) round = round_of(a);  // 4 times a second
                std::vector<pb::Message> rpc;
                for (int k = 0; k < kPerRpc; ++k) rpc.push_back(m.update(spec.topic, round, 0));
                if (!co_await m.send(rpc)) break;
                sent += rpc.size();
                next += std::chrono::microseconds(1'000'000 * kPerRpc / kRate);
                tick.expires_at(next);
                co_await tick.async_wait(asio::use_awaitable);
            }
            const auto r2 = round_of(a);
            flooded = static_cast<double>(r2 - r1);
            m.host.stop();
            co_return "";
        },
        std::chrono::seconds(120));
    auto a_after = change(a_before, counters(a));
    const std::size_t peak = a.memory_kib("VmHWM");
    const std::size_t growth_mib = (peak - std::min(rss_before, peak)) / 1024;
    WARN("flood of " << sent << " updates in " << kPhase.count() << " s on one connection plus "
                     << unread << " unread identify streams: A trained " << flooded
                     << " rounds against " << baseline << " before (ratio "
                     << (baseline > 0 ? flooded / baseline : 0) << "); over_cap "
                     << a_after["refused.over_cap"] << "; peak RSS grew " << growth_mib
                     << " MiB (bound " << kRssBoundMib << " MiB)");
    CHECK(sent == static_cast<std::size_t>(kRate) * kPhase.count());
    CHECK(baseline > 0);
    CHECK(flooded >= 0.8 * baseline);
    CHECK(growth_mib < kRssBoundMib);
    CHECK(a.running());
    CHECK(a.status());
}
