// The SAPO final merge: commitments and weights over /swarmd/merge/1.0.0 on loopback, the
// canonical merge (mean, trimmed mean, median), and the coordinator's agreement rules (wait, leave
// out, converge).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>

#include <boost/asio/io_context.hpp>

#include "net/host.hpp"
#include "node/ops/logging.hpp"
#include "node/sapo/merge.hpp"
#include "node/sapo/merge_protocol.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::node;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

crypto::PeerId random_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

SharedWeights weights_of(std::size_t n, float seed) {
    auto w = std::make_shared<std::vector<float>>(n);
    for (std::size_t i = 0; i < n; ++i)
        (*w)[i] = seed + 0.001f * static_cast<float>(i % 97) - 0.3f * seed * seed;
    return w;
}

// Other tests in this binary point the loggers at sinks of their own that they destroy.
struct DefaultLogging {
    DefaultLogging() { setup_logging(LogOptions{}); }
};

const Bytes kSwarm(32, 0x5a);

}  // namespace

TEST_CASE("commitments round-trip and hostile encodings are refused", "[merge]") {
    DefaultLogging logging;
    const auto w = weights_of(1000, 1.5f);
    WeightsCommitment c{"small", 30, weights_hash("small", *w), w->size()};
    const auto bytes = encode_commitment(c);
    CHECK(decode_commitment(bytes).value() == c);
    for (std::size_t n = 0; n <= 48; ++n)
        CHECK(decode_commitment(ByteSpan(bytes.data(), n)).has_error());
    Bytes long_name = bytes;
    long_name.resize(48 + kMaxPolicyNameBytes + 1, 'x');
    CHECK(decode_commitment(long_name).has_error());

    // The hash binds the architecture name and every value.
    CHECK(weights_hash("small", *w) != weights_hash("tiny", *w));
    auto changed = *w;
    changed[999] = std::nextafter(changed[999], 10.0f);
    CHECK(weights_hash("small", changed) != weights_hash("small", *w));
}

namespace {

MergeSpec rule(MergeRule r) {
    MergeSpec spec;
    spec.rule = r;
    return spec;
}

MergeSpec trim(double fraction) {
    MergeSpec spec = rule(MergeRule::trimmed_mean);
    spec.trim = fraction;
    return spec;
}

std::vector<MergeInput> inputs_of(std::size_t n, std::size_t size, float step) {
    std::vector<MergeInput> inputs;
    for (std::size_t i = 0; i < n; ++i) {
        auto w = weights_of(size, step * static_cast<float>(i + 1));
        inputs.push_back({random_peer(), weights_hash("p", *w), w});
    }
    return inputs;
}

}  // namespace

TEST_CASE("the merge is the same bits in any input order, under every rule", "[merge]") {
    DefaultLogging logging;
    auto inputs = inputs_of(5, 4096, 0.37f);
    for (const MergeRule r :
         {MergeRule::filtered_mean, MergeRule::trimmed_mean, MergeRule::median, MergeRule::mean}) {
        auto shuffled = inputs;
        const auto a = merge_weights(shuffled, rule(r)).weights;
        std::reverse(shuffled.begin(), shuffled.end());
        const auto b = merge_weights(shuffled, rule(r)).weights;
        std::swap(shuffled[0], shuffled[3]);
        const auto c = merge_weights(shuffled, rule(r)).weights;
        CHECK(weights_hash("p", a) == weights_hash("p", b));
        CHECK(weights_hash("p", a) == weights_hash("p", c));
    }
    const auto mean = merge_weights(inputs, rule(MergeRule::mean)).weights;
    double expected = 0;
    for (const auto& in : inputs) expected += (*in.weights)[10];
    CHECK(mean[10] == Approx(expected / 5).epsilon(1e-6));
    // Five inputs, trim 0.25: two cut from each end, so the trimmed mean is the median.
    std::vector<float> column;
    for (const auto& in : inputs) column.push_back((*in.weights)[10]);
    std::sort(column.begin(), column.end());
    CHECK(merge_weights(inputs, rule(MergeRule::trimmed_mean)).weights[10] == column[2]);
    CHECK(merge_weights(inputs, rule(MergeRule::median)).weights[10] == column[2]);
}

TEST_CASE("the trimmed mean cuts ceil(trim * n) from each end and always keeps a value",
          "[merge]") {
    CHECK(trimmed_per_side(0, trim(0.25)) == 0);
    CHECK(trimmed_per_side(1, trim(0.25)) == 0);
    CHECK(trimmed_per_side(2, trim(0.25)) == 0);  // one value each: nothing can be cut
    CHECK(trimmed_per_side(3, trim(0.25)) == 1);
    CHECK(trimmed_per_side(4, trim(0.25)) == 1);
    CHECK(trimmed_per_side(8, trim(0.25)) == 2);
    CHECK(trimmed_per_side(9, trim(0.25)) == 3);
    CHECK(trimmed_per_side(100, trim(0.25)) == 25);
    CHECK(trimmed_per_side(8, trim(0.0)) == 0);
    CHECK(trimmed_per_side(8, trim(0.1)) == 1);
    CHECK(trimmed_per_side(8, trim(0.49)) == 3);
    CHECK(trimmed_per_side(8, rule(MergeRule::median)) == 3);
    CHECK(trimmed_per_side(7, rule(MergeRule::median)) == 3);
    CHECK(trimmed_per_side(8, rule(MergeRule::mean)) == 0);
    CHECK(trimmed_per_side(8, rule(MergeRule::filtered_mean)) == 0);
}

TEST_CASE(
    "one peer's extreme weights move the mean anywhere, the robust rules stay within the "
    "honest range",
    "[merge]") {
    DefaultLogging logging;
    auto inputs = inputs_of(8, 2048, 0.1f);
    std::vector<MergeInput> honest = inputs;
    std::vector<float> low(2048, std::numeric_limits<float>::max());
    std::vector<float> high(2048, std::numeric_limits<float>::lowest());
    for (const auto& in : inputs) {
        for (std::size_t i = 0; i < low.size(); ++i) {
            low[i] = std::min(low[i], (*in.weights)[i]);
            high[i] = std::max(high[i], (*in.weights)[i]);
        }
    }
    // The largest value check_weights lets through, with alternating signs.
    auto poison = std::make_shared<std::vector<float>>(2048);
    for (std::size_t i = 0; i < poison->size(); ++i)
        (*poison)[i] = (i % 2 ? -1.0f : 1.0f) * MergeCoordinatorOptions::kDefaultMaxAbs;
    inputs[3] = {inputs[3].peer, weights_hash("p", *poison), poison};

    auto outside = [&](const std::vector<float>& merged) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < low.size(); ++i) n += merged[i] < low[i] || merged[i] > high[i];
        return n;
    };
    CHECK(outside(merge_weights(inputs, rule(MergeRule::mean)).weights) == low.size());
    CHECK(outside(merge_weights(inputs, rule(MergeRule::trimmed_mean)).weights) == 0);
    CHECK(outside(merge_weights(inputs, rule(MergeRule::median)).weights) == 0);
    // The filter leaves the poisoned input out, and only it: the mean of the other seven.
    const auto filtered = merge_weights(inputs, rule(MergeRule::filtered_mean));
    CHECK(filtered.outliers == std::vector<std::size_t>{3});
    auto seven = honest;
    seven.erase(seven.begin() + 3);
    CHECK(filtered.weights == merge_weights(seven, rule(MergeRule::mean)).weights);
    // Honest inputs alone: nobody is left out, and the filtered mean is the mean.
    const auto clean = merge_weights(honest, rule(MergeRule::filtered_mean));
    CHECK(clean.outliers.empty());
    CHECK(clean.weights == merge_weights(honest, rule(MergeRule::mean)).weights);
    // Two inputs cannot outvote each other: the plain mean.
    std::vector<MergeInput> two{honest[0], inputs[3]};
    const auto pair = merge_weights(two, rule(MergeRule::filtered_mean));
    CHECK(pair.outliers.empty());
}

TEST_CASE("weights and commitments are exchanged over /swarmd/merge/1.0.0 and verified",
          "[merge]") {
    DefaultLogging logging;
    asio::io_context io;
    net::Host a(io.get_executor(), crypto::PrivateKey::generate());
    net::Host b(io.get_executor(), crypto::PrivateKey::generate());
    // More than one chunk, so the chunking is exercised.
    const auto w = weights_of(kMergeChunkFloats * 2 + 123, 0.8f);
    const WeightsCommitment c{"small", 12, weights_hash("small", *w), w->size()};
    const auto other = weights_of(w->size(), 0.2f);
    bool committed = false;
    serve_merge(b, kSwarm,
                MergeServer{[&]() -> std::optional<WeightsCommitment> {
                                if (!committed) return std::nullopt;
                                return c;
                            },
                            [&](const crypto::Digest& h) -> SharedWeights {
                                if (h == c.hash) return w;
                                // A lying server: answers any other hash with the wrong weights.
                                return other;
                            }});
    auto addr = b.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    net::testing::run(io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await a.dial(addr));
        auto none = co_await fetch_commitment(a, b.peer_id(), kSwarm);
        CHECK(none.error() == MergeErrc::not_committed);
        committed = true;
        auto got = co_await fetch_commitment(a, b.peer_id(), kSwarm);
        REQUIRE(got);
        CHECK(got.value() == c);

        auto fetched =
            co_await fetch_weights(a, b.peer_id(), kSwarm, c.hash, "small", c.parameters);
        REQUIRE(fetched);
        CHECK(fetched.value() == *w);

        // Another architecture's count is refused before anything is read.
        auto wrong_size =
            co_await fetch_weights(a, b.peer_id(), kSwarm, c.hash, "small", c.parameters + 1);
        CHECK(wrong_size.error() == MergeErrc::size_mismatch);
        // Weights that do not hash to what was asked for are refused.
        crypto::Digest unknown = c.hash;
        unknown[0] ^= 1;
        auto lied = co_await fetch_weights(a, b.peer_id(), kSwarm, unknown, "small", c.parameters);
        CHECK(lied.error() == MergeErrc::hash_mismatch);
        // Another swarm is not answered.
        auto foreign = co_await fetch_commitment(a, b.peer_id(), Bytes(32, 0x01));
        CHECK(foreign.has_error());
    });
}

TEST_CASE("a coordinator waits for active peers, leaves out departed ones and converges",
          "[merge]") {
    DefaultLogging logging;
    using Clock = MergeCoordinator::Clock;
    MergeCoordinatorOptions options;
    options.wait_for_peers = 30s;
    options.active = 8s;
    options.retry = 2s;
    const std::size_t n = 64;
    const auto self = random_peer(), slow = random_peer(), gone = random_peer(),
               other_arch = random_peer();
    MergeCoordinator m(self, "small", n, 20, options);
    Clock::time_point t{};

    // Before our own commitment nothing is fetched or merged.
    m.heard(slow, "small", std::nullopt, {}, t);
    m.heard(other_arch, "tiny", std::nullopt, {}, t);
    CHECK(m.fetches(t).empty());
    CHECK_FALSE(m.due(t));
    CHECK(m.state() == "training");

    const auto own = weights_of(n, 1.0f);
    m.commit(own, t);
    CHECK(m.own_commitment()->hash == weights_hash("small", *own));
    CHECK(m.weights(m.own_commitment()->hash) == own);

    // `gone` commits, is heard, then leaves; its weights cannot be fetched.
    const auto gone_w = weights_of(n, 2.0f);
    const WeightsCommitment gone_c{"small", 20, weights_hash("small", *gone_w), n};
    m.heard(gone, "small", gone_c, {}, t);
    // A commitment of another round or size is not this merge's.
    m.heard(random_peer(), "small", WeightsCommitment{"small", 19, gone_c.hash, n}, {}, t);
    auto f = m.fetches(t);
    REQUIRE(f.size() == 1);
    CHECK(f[0].author == gone);
    CHECK(f[0].sources == std::vector{gone});
    CHECK(m.fetches(t).empty());  // in flight
    m.fetch_failed(gone_c.hash, t);
    CHECK(m.fetches(t + 1s).empty());  // retried after the retry delay
    CHECK(m.fetches(t + 2s).size() == 1);
    m.fetch_failed(gone_c.hash, t + 2s);

    // The slow peer (still heard, not committed), `gone` and the peer of another round (heard
    // recently) are waited for.
    t += 5s;
    m.heard(slow, "small", std::nullopt, {}, t);
    CHECK(m.pending(t).size() == 3);
    CHECK_FALSE(m.due(t));
    CHECK(m.state() == "waiting");
    // `gone` is no longer heard from: left out; the slow peer is still waited for...
    t += 6s;
    m.heard(slow, "small", std::nullopt, {}, t);
    CHECK(m.pending(t) == std::vector{slow});
    CHECK_FALSE(m.due(t));
    // ... until the wait is over: merged without both.
    t += 25s;
    m.heard(slow, "small", std::nullopt, {}, t);
    auto first = m.due(t);
    REQUIRE(first);
    REQUIRE(first->size() == 1);
    CHECK(first->at(0).peer == self);
    m.merged({self}, weights_hash("small", *own));
    CHECK(m.state() == "merged");
    CHECK_FALSE(m.due(t));  // the same set is not merged twice

    // The slow peer commits later, having merged a copy of `gone`'s weights: both are fetched
    // (gone's from the slow peer) and the merge is done again with the larger set.
    const auto slow_w = weights_of(n, 3.0f);
    const WeightsCommitment slow_c{"small", 20, weights_hash("small", *slow_w), n};
    t += 1s;
    m.heard(slow, "small", slow_c, {gone, self}, t);
    auto again = m.fetches(t);
    REQUIRE(again.size() == 2);
    for (const auto& fetch : again) {
        if (fetch.author == gone) {
            CHECK(fetch.sources == std::vector{gone, slow});
            m.weights_arrived(fetch.hash, gone_w);
        } else {
            CHECK(fetch.author == slow);
            m.weights_arrived(fetch.hash, slow_w);
        }
    }
    auto second = m.due(t);
    REQUIRE(second);
    CHECK(second->size() == 3);
    CHECK(m.state() == "waiting");
    std::vector<crypto::PeerId> ids;
    for (const auto& in : *second) ids.push_back(in.peer);
    m.merged(ids, weights_hash("small", merge_weights(*second, MergeSpec{}).weights));
    CHECK(m.state() == "merged");
    CHECK(m.participants().size() == 3);
}

TEST_CASE("coordinators of one group that see the same commitments merge to the same hash",
          "[merge]") {
    DefaultLogging logging;
    using Clock = MergeCoordinator::Clock;
    const std::size_t n = 256;
    std::vector<crypto::PeerId> ids;
    std::vector<SharedWeights> weights;
    std::vector<MergeCoordinator> nodes;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(random_peer());
        weights.push_back(weights_of(n, 0.5f + static_cast<float>(i)));
    }
    Clock::time_point t{};
    for (int i = 0; i < 4; ++i) {
        nodes.emplace_back(ids[i], "small", n, 10);
        nodes.back().commit(weights[i], t);
    }
    // Heartbeats reach everyone, in a different order on each node; weights are fetched from
    // whoever holds them.
    for (int i = 0; i < 4; ++i) {
        for (int k = 3; k >= 0; --k) {
            const int j = (i + k) % 4;
            if (j != i) nodes[i].heard(ids[j], "small", nodes[j].own_commitment(), {}, t);
        }
    }
    std::vector<crypto::Digest> merged;
    for (int i = 0; i < 4; ++i) {
        for (const auto& f : nodes[i].fetches(t)) {
            for (int j = 0; j < 4; ++j) {
                if (ids[j] == f.author) nodes[i].weights_arrived(f.hash, nodes[j].weights(f.hash));
            }
        }
        auto inputs = nodes[i].due(t);
        REQUIRE(inputs);
        CHECK(inputs->size() == 4);
        merged.push_back(weights_hash("small", merge_weights(*inputs, MergeSpec{}).weights));
    }
    for (const auto& h : merged) CHECK(h == merged[0]);
}

TEST_CASE("weights that are not finite or far out of range are left out of the merge",
          "[merge][hostile]") {
    DefaultLogging logging;
    using Clock = MergeCoordinator::Clock;
    const std::size_t n = 64;
    const auto self = random_peer(), honest = random_peer();
    MergeCoordinator m(self, "small", n, 20);
    Clock::time_point t{};
    const auto own = weights_of(n, 1.0f);
    m.commit(own, t);

    // Hostile peers commit to poisoned weights. Each commitment is honest about its hash, so
    // the fetch's hash check passes: the values themselves must be refused.
    asio::io_context io;
    net::Host a(io.get_executor(), crypto::PrivateKey::generate());
    net::Host b(io.get_executor(), crypto::PrivateKey::generate());
    std::map<crypto::Digest, SharedWeights> served;
    auto poison = [&](float v, std::size_t at) {
        auto w = std::make_shared<std::vector<float>>(*weights_of(n, 2.0f));
        (*w)[at] = v;
        served[weights_hash("small", *w)] = w;
        return WeightsCommitment{"small", 20, weights_hash("small", *w), n};
    };
    const std::vector<std::pair<WeightsCommitment, WeightsVerdict>> hostile{
        {poison(std::numeric_limits<float>::quiet_NaN(), 3), WeightsVerdict::not_finite},
        {poison(std::numeric_limits<float>::infinity(), 0), WeightsVerdict::not_finite},
        {poison(-1e30f, n - 1), WeightsVerdict::out_of_range},
        {poison(2e4f, 7), WeightsVerdict::out_of_range}};
    const auto honest_w = weights_of(n, 3.0f);
    const WeightsCommitment honest_c{"small", 20, weights_hash("small", *honest_w), n};
    served[honest_c.hash] = honest_w;
    serve_merge(b, kSwarm,
                MergeServer{[]() -> std::optional<WeightsCommitment> { return std::nullopt; },
                            [&](const crypto::Digest& h) -> SharedWeights {
                                const auto it = served.find(h);
                                return it == served.end() ? nullptr : it->second;
                            }});
    auto addr = b.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();

    std::map<crypto::Digest, WeightsVerdict> expected{{honest_c.hash, WeightsVerdict::accepted}};
    for (const auto& [c, verdict] : hostile) {
        m.heard(random_peer(), "small", c, {}, t);
        expected[c.hash] = verdict;
    }
    m.heard(honest, "small", honest_c, {}, t);
    auto fetches = m.fetches(t);
    REQUIRE(fetches.size() == hostile.size() + 1);

    net::testing::run(io, [&]() -> asio::awaitable<void> {
        REQUIRE(co_await a.dial(addr));
        for (const auto& f : fetches) {
            auto got = co_await fetch_weights(a, b.peer_id(), kSwarm, f.hash, "small", n);
            REQUIRE(got);
            const auto verdict = m.weights_arrived(
                f.hash, std::make_shared<const std::vector<float>>(std::move(got.value())));
            CHECK(verdict == expected.at(f.hash));
        }
    });

    // The poisoned commitments are neither waited for nor fetched again: the merge is due at
    // once, over our own and the honest weights, and its result is finite.
    CHECK(m.pending(t).empty());
    CHECK(m.fetches(t + 1min).empty());
    auto inputs = m.due(t);
    REQUIRE(inputs);
    REQUIRE(inputs->size() == 2);
    const auto merged = merge_weights(*inputs, MergeSpec{}).weights;
    REQUIRE(merged.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(std::isfinite(merged[i]));
        CHECK(merged[i] == Approx(((*own)[i] + (*honest_w)[i]) / 2));
    }
    CHECK(check_weights(*own, n + 1, 1e4f) == WeightsVerdict::wrong_size);
}

TEST_CASE("the merge coordinator tracks a bounded number of peers and evicts departed ones",
          "[merge][hostile]") {
    DefaultLogging logging;
    using Clock = MergeCoordinator::Clock;
    MergeCoordinatorOptions options;
    options.active = 8s;
    options.max_peers = 16;
    const std::size_t n = 8;
    MergeCoordinator m(random_peer(), "small", n, 20, options);
    Clock::time_point t{};
    // A Sybil crowd announces commitments: only max_peers are tracked (and fetched).
    for (int i = 0; i < 1000; ++i) {
        const auto w = weights_of(n, static_cast<float>(i));
        m.heard(random_peer(), "small",
                WeightsCommitment{"small", 20, weights_hash("small", *w), n}, {}, t);
    }
    CHECK(m.tracked_peers() == options.max_peers);
    m.commit(weights_of(n, 0.5f), t);
    CHECK(m.fetches(t).size() == options.max_peers);
    // While they are live a newcomer is not tracked; once they are gone it takes their place.
    const auto late = random_peer();
    m.heard(late, "small", std::nullopt, {}, t + 1s);
    CHECK(m.tracked_peers() == options.max_peers);
    CHECK(m.pending(t + 1s).size() == options.max_peers);
    m.heard(late, "small", std::nullopt, {}, t + 20s);
    CHECK(m.tracked_peers() == 1);
    CHECK(m.pending(t + 20s) == std::vector{late});
}

TEST_CASE(
    "one peer claiming to have merged a crowd of made-up authors relays only a bounded number",
    "[merge][hostile]") {
    DefaultLogging logging;
    using Clock = MergeCoordinator::Clock;
    MergeCoordinatorOptions options;
    options.max_relayed_per_source = 8;
    const std::size_t n = 8;
    MergeCoordinator m(random_peer(), "small", n, 20, options);
    Clock::time_point t{};
    const auto relay = random_peer();
    std::vector<crypto::PeerId> crowd;
    for (int i = 0; i < 200; ++i) {
        crowd.push_back(random_peer());
        const auto w = weights_of(n, static_cast<float>(i));
        m.heard(crowd.back(), "small", WeightsCommitment{"small", 20, weights_hash("small", *w), n},
                {}, t);
    }
    m.heard(relay, "small", std::nullopt, crowd, t);
    m.commit(weights_of(n, 0.5f), t);
    const auto planned = m.fetches(t);
    REQUIRE(planned.size() == 200);  // each author is still asked itself
    std::size_t via_relay = 0;
    for (const auto& f : planned) {
        CHECK(f.sources.front() == f.author);
        via_relay += std::count(f.sources.begin(), f.sources.end(), relay);
    }
    CHECK(via_relay == options.max_relayed_per_source);
}
