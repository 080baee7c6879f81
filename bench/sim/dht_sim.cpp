// DHT rendezvous simulator: N virtual Kademlia nodes with ideal k-bucket tables, the real
// net/kad iterative Lookup (alpha queries in flight, k closest, timeouts) in simulated time.
// A few swarm trainers announce themselves as providers of a swarm's rendezvous key (a
// FIND_NODE lookup, then ADD_PROVIDER to the k closest); then random nodes look the key up with
// GET_PROVIDERS until the first provider answers, and for comparison run a plain FIND_NODE
// lookup of the same key. Reports hops (the depth of the query chain that found a provider),
// queries sent and simulated time, p50 / p99 over the lookups. No sockets, no wall clock: the
// same --seed prints the same table.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/timing.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/kad.hpp"

namespace {

using namespace swarmd;
namespace kad = net::kad;
using kad::Key;
using Clock = std::chrono::steady_clock;
using bench::quantile;
using Ms = std::chrono::milliseconds;

struct Options {
    std::size_t nodes = 1000;
    std::size_t providers = 8;
    std::size_t lookups = 200;
    double dead = 0.1;  // share of table entries that never answer (churned or unreachable)
    unsigned latency_min_ms = 20;
    unsigned latency_max_ms = 200;
    unsigned timeout_ms = 2000;
    // The searcher is a newcomer that knows only this many bootstrap nodes (0: it has a full
    // table of its own, like a node that has been in the DHT for a while).
    std::size_t bootstrap = 4;
    std::uint64_t seed = 1;
};

struct Node {
    crypto::PeerId id;
    Key key;
    bool dead = false;
    std::vector<std::vector<std::uint32_t>> buckets;  // by common prefix length
};

struct World {
    std::vector<Node> nodes;
    std::unordered_map<crypto::PeerId, std::uint32_t> index;
    std::vector<std::uint32_t> by_key;  // node indices sorted by key
    std::map<Key, std::set<std::uint32_t>> providers;

    // Up to k entries of node n's table closest to target.
    std::vector<kad::PeerInfo> closest(std::uint32_t n, const Key& target, std::size_t k) const {
        std::vector<std::pair<kad::Distance, std::uint32_t>> all;
        for (const auto& bucket : nodes[n].buckets)
            for (std::uint32_t m : bucket) all.emplace_back(kad::distance(nodes[m].key, target), m);
        const std::size_t take = std::min(k, all.size());
        std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(take), all.end());
        std::vector<kad::PeerInfo> out;
        for (std::size_t i = 0; i < take; ++i) out.push_back({nodes[all[i].second].id, {}, {}});
        return out;
    }
};

// The keys that share the first `len` bits with `key` (bit len-1 flipped when `flip`): the
// lowest and highest of them.
std::pair<Key, Key> prefix_range(const Key& key, std::size_t len, bool flip) {
    Key::Bits lo = key.bits();
    Key::Bits hi = key.bits();
    if (flip) {
        const std::size_t i = len - 1;
        lo[i / 8] ^= static_cast<std::uint8_t>(1u << (7 - i % 8));
        hi[i / 8] = lo[i / 8];
    }
    for (std::size_t i = len; i < kad::kKeyBits; ++i) {
        const auto mask = static_cast<std::uint8_t>(1u << (7 - i % 8));
        lo[i / 8] = static_cast<std::uint8_t>(lo[i / 8] & ~mask);
        hi[i / 8] = static_cast<std::uint8_t>(hi[i / 8] | mask);
    }
    return {Key(lo), Key(hi)};
}

World make_world(const Options& o, std::mt19937_64& rng) {
    World w;
    w.nodes.reserve(o.nodes);
    std::bernoulli_distribution dead(o.dead);
    for (std::size_t i = 0; i < o.nodes; ++i) {
        Bytes seed(32);
        for (auto& b : seed) b = static_cast<std::uint8_t>(rng());
        auto id = crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(seed).public_key());
        w.index.emplace(id, static_cast<std::uint32_t>(i));
        w.nodes.push_back({id, Key::from_peer(id), dead(rng), {}});
    }
    w.by_key.resize(o.nodes);
    for (std::uint32_t i = 0; i < o.nodes; ++i) w.by_key[i] = i;
    auto key_of = [&](std::uint32_t i) -> const Key& { return w.nodes[i].key; };
    std::sort(w.by_key.begin(), w.by_key.end(),
              [&](std::uint32_t a, std::uint32_t b) { return key_of(a) < key_of(b); });
    auto members = [&](const std::pair<Key, Key>& range) {
        auto first = std::lower_bound(w.by_key.begin(), w.by_key.end(), range.first,
                                      [&](std::uint32_t i, const Key& k) { return key_of(i) < k; });
        auto last = std::upper_bound(w.by_key.begin(), w.by_key.end(), range.second,
                                     [&](const Key& k, std::uint32_t i) { return k < key_of(i); });
        return std::vector<std::uint32_t>(first, last);
    };
    // Ideal tables: bucket cpl holds k random nodes (or all) of the subtree that shares cpl
    // bits with us and differs at the next one; deeper buckets stop where only we are left.
    for (auto& node : w.nodes) {
        for (std::size_t cpl = 0; cpl < kad::kKeyBits; ++cpl) {
            auto bucket = members(prefix_range(node.key, cpl + 1, true));
            if (bucket.size() > kad::kBucketSize) {
                std::shuffle(bucket.begin(), bucket.end(), rng);
                bucket.resize(kad::kBucketSize);
            }
            node.buckets.push_back(std::move(bucket));
            if (members(prefix_range(node.key, cpl + 1, false)).size() <= 1) break;
        }
    }
    return w;
}

struct LookupResult {
    bool found = false;
    std::size_t hops = 0;     // depth of the query chain that answered with a provider
    std::size_t queries = 0;  // requests sent
    double ms = 0;            // simulated time to the first provider, or to the end
    std::vector<kad::PeerInfo> closest;
};

// One iterative lookup from node `from` towards `target`, in simulated time. With
// want_provider it is GET_PROVIDERS and stops at the first provider.
LookupResult run_lookup(const World& w, const Options& o, std::mt19937_64& rng, std::uint32_t from,
                        const std::vector<kad::PeerInfo>& seeds, const Key& target,
                        bool want_provider) {
    kad::LookupOptions options;
    options.request_timeout = Ms(o.timeout_ms);
    const Clock::time_point t0{};
    const auto& self = w.nodes[from];
    kad::Lookup lookup(self.id, target, seeds, options);
    std::unordered_map<crypto::PeerId, std::size_t> depth;
    for (const auto& p : seeds) depth[p.id] = 1;
    std::uniform_int_distribution<unsigned> latency(o.latency_min_ms, o.latency_max_ms);
    struct Answer {
        Clock::time_point at;
        std::uint32_t node;
        bool operator>(const Answer& other) const { return at > other.at; }
    };
    std::priority_queue<Answer, std::vector<Answer>, std::greater<>> answers;
    LookupResult r;
    Clock::time_point now = t0;
    const auto providers = w.providers.find(target);
    for (;;) {
        for (const auto& peer : lookup.next(now)) {
            ++r.queries;
            const std::uint32_t n = w.index.at(peer.id);
            if (!w.nodes[n].dead) answers.push({now + Ms(latency(rng)), n});
        }
        if (lookup.done()) break;
        // The next event: an answer, or the earliest timeout.
        auto deadline = lookup.next_deadline();
        if (!answers.empty() && (!deadline || answers.top().at <= *deadline)) {
            const Answer a = answers.top();
            answers.pop();
            now = a.at;
            const auto& node = w.nodes[a.node];
            auto closer = w.closest(a.node, target, kad::kBucketSize);
            for (const auto& c : closer)
                if (!depth.contains(c.id)) depth[c.id] = depth[node.id] + 1;
            if (want_provider && providers != w.providers.end() &&
                providers->second.contains(a.node)) {
                r.found = true;
                r.hops = depth[node.id];
                r.ms = std::chrono::duration<double, std::milli>(now - t0).count();
                return r;
            }
            lookup.on_response(node.id, closer, now);
        } else if (deadline) {
            now = *deadline;  // next() fails what timed out
        } else {
            break;
        }
    }
    r.ms = std::chrono::duration<double, std::milli>(now - t0).count();
    r.closest = lookup.closest();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"DHT rendezvous simulator: the real Kademlia lookup over virtual nodes"};
    app.add_option("--nodes", o.nodes, "Virtual DHT nodes")->check(CLI::Range(30, 200000));
    app.add_option("--providers", o.providers, "Swarm trainers announcing the key");
    app.add_option("--lookups", o.lookups, "Provider lookups measured");
    app.add_option("--dead", o.dead, "Share of nodes that never answer")
        ->check(CLI::Range(0.0, 0.9));
    app.add_option("--latency-min-ms", o.latency_min_ms, "Round trip, lower bound");
    app.add_option("--latency-max-ms", o.latency_max_ms, "Round trip, upper bound");
    app.add_option("--timeout-ms", o.timeout_ms, "Request timeout");
    app.add_option("--bootstrap", o.bootstrap,
                   "Bootstrap nodes a newcomer searcher knows (0: a full table of its own)");
    app.add_option("--seed", o.seed, "Random seed");
    CLI11_PARSE(app, argc, argv);

    std::mt19937_64 rng(o.seed);
    World w = make_world(o, rng);
    std::uniform_int_distribution<std::uint32_t> any(0, static_cast<std::uint32_t>(o.nodes - 1));
    auto live_node = [&] {
        for (;;)
            if (auto n = any(rng); !w.nodes[n].dead) return n;
    };
    const Bytes rendezvous = kad::rendezvous_key("floodsub:swarmd-sim-status");
    const Key target = Key::from_bytes(rendezvous);

    // The trainers announce: FIND_NODE towards the key, ADD_PROVIDER to the k closest.
    std::vector<double> announce_ms;
    for (std::size_t p = 0; p < o.providers; ++p) {
        const auto from = live_node();
        auto r =
            run_lookup(w, o, rng, from, w.closest(from, target, kad::kBucketSize), target, false);
        announce_ms.push_back(r.ms);
        for (const auto& peer : r.closest) w.providers[target].insert(w.index.at(peer.id));
    }

    std::vector<double> hops, queries, ms, plain_ms;
    std::size_t found = 0;
    for (std::size_t i = 0; i < o.lookups; ++i) {
        const auto from = live_node();
        std::vector<kad::PeerInfo> seeds;
        if (o.bootstrap == 0) {
            seeds = w.closest(from, target, kad::kBucketSize);
        } else {
            while (seeds.size() < o.bootstrap) seeds.push_back({w.nodes[live_node()].id, {}, {}});
        }
        auto r = run_lookup(w, o, rng, from, seeds, target, true);
        auto plain = run_lookup(w, o, rng, from, seeds, target, false);
        plain_ms.push_back(plain.ms);
        if (!r.found) continue;
        ++found;
        hops.push_back(static_cast<double>(r.hops));
        queries.push_back(static_cast<double>(r.queries));
        ms.push_back(r.ms);
    }
    std::printf(
        "nodes %zu, dead %.0f%%, providers %zu, RTT %u-%u ms, timeout %u ms, %zu lookups from %s\n",
        o.nodes, o.dead * 100, o.providers, o.latency_min_ms, o.latency_max_ms, o.timeout_ms,
        o.lookups,
        o.bootstrap == 0
            ? "nodes with full tables"
            : ("newcomers knowing " + std::to_string(o.bootstrap) + " bootstrap nodes").c_str());
    std::printf("%-38s %10s %10s\n", "", "p50", "p99");
    std::printf("%-38s %10.0f %10.0f\n", "announce (FIND_NODE) ms", quantile(announce_ms, 0.5),
                quantile(announce_ms, 0.99));
    std::printf("%-38s %10.0f %10.0f\n", "hops to the first provider", quantile(hops, 0.5),
                quantile(hops, 0.99));
    std::printf("%-38s %10.0f %10.0f\n", "queries to the first provider", quantile(queries, 0.5),
                quantile(queries, 0.99));
    std::printf("%-38s %10.0f %10.0f\n", "ms to the first provider", quantile(ms, 0.5),
                quantile(ms, 0.99));
    std::printf("%-38s %10.0f %10.0f\n", "ms of a full FIND_NODE lookup", quantile(plain_ms, 0.5),
                quantile(plain_ms, 0.99));
    std::printf("%-38s %10.2f %10.2f\n", "provider time / full lookup time",
                quantile(ms, 0.5) / std::max(1.0, quantile(plain_ms, 0.5)),
                quantile(ms, 0.99) / std::max(1.0, quantile(plain_ms, 0.99)));
    std::printf("found a provider in %zu of %zu lookups\n", found, o.lookups);
    return found == o.lookups ? 0 : 1;
}
