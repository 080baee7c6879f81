// Gossipsub simulator: N virtual nodes each running the real net/gossipsub Router, connected
// by simulated links (per-link latency, FIFO per direction, random loss of whole RPC batches),
// with churn (nodes leave and rejoin with a fresh router). No sockets and no wall clock: time
// is an event queue, so the same seed always prints the same table (timings go to stderr).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "bench/timing.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/gossipsub.hpp"

namespace {

using namespace swarmd;
using namespace swarmd::net::gossipsub;
using crypto::PeerId;

using Micros = std::int64_t;
constexpr Micros kSecond = 1'000'000;
const std::string kTopic = "swarmd/sim/1";

struct Config {
    std::size_t nodes = 1000;
    std::size_t degree = 16;
    std::size_t messages = 100;
    double interval_ms = 100;  // between publications
    std::size_t message_size = 256;
    double latency_min_ms = 10;
    double latency_max_ms = 100;
    double jitter_ms = 2;  // per RPC, on top of the link latency
    double loss = 0;       // probability that an RPC batch is lost
    double churn = 0;      // leave events per second across the network
    double downtime_s = 10;
    double warmup_s = 5;
    double drain_s = 10;
    std::uint64_t seed = 1;
    bool verify_all = false;  // every node verifies every signature itself
    double expect_delivery = -1;
    bool px_dial = false;
};

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

class Simulator {
  public:
    explicit Simulator(const Config& c) : m_cfg(c), m_rng(c.seed) {}

    int run();

  private:
    enum class Kind : std::uint8_t { deliver, heartbeat, publish, leave, join };
    struct Event {
        Micros at;
        std::uint64_t seq;
        Kind kind;
        std::uint32_t node;
        std::uint32_t from;
        std::uint32_t incarnation_to;
        std::uint32_t incarnation_from;
        Bytes data;
    };
    struct Later {
        bool operator()(const Event& a, const Event& b) const {
            return a.at != b.at ? a.at > b.at : a.seq > b.seq;
        }
    };
    struct Node {
        std::unique_ptr<Router> router;
        PeerId id;
        bool online = false;
        std::uint32_t incarnation = 0;
        // Peer -> last arrival time of our RPCs there (links stay FIFO). Degree-sized, so a
        // vector beats a hash map.
        std::vector<std::pair<std::uint32_t, Micros>> links;
        std::pair<std::uint32_t, Micros>* link(std::uint32_t peer) {
            for (auto& l : links) {
                if (l.first == peer) return &l;
            }
            return nullptr;
        }
        Micros phase = 0;
    };
    struct MessageRecord {
        Micros published_at;
        std::uint32_t publisher;
        std::vector<Micros> first_delivery;  // per node, -1 if never
        std::vector<bool> target;            // online at publication, stayed online
    };

    Time to_time(Micros t) const { return Time{std::chrono::microseconds(t)}; }
    void schedule(Event e) {
        e.seq = m_seq++;
        m_queue.push_back(std::move(e));
        std::push_heap(m_queue.begin(), m_queue.end(), Later{});
    }
    Options node_options(std::uint32_t i);
    void start_node(std::uint32_t i);
    void connect(std::uint32_t a, std::uint32_t b);
    void disconnect(std::uint32_t a, std::uint32_t b);
    void apply(std::uint32_t node, Actions actions);
    Micros link_latency(std::uint32_t a, std::uint32_t b) const;
    void build_topology();
    void leave(std::uint32_t i);
    void harvest(const Router& r);

    Config m_cfg;
    std::mt19937_64 m_rng;
    std::vector<Node> m_nodes;
    PeerMap<std::uint32_t> m_index;
    std::vector<Event> m_queue;
    std::uint64_t m_seq = 0;
    Micros m_now = 0;
    std::vector<MessageRecord> m_messages;
    Stats m_totals;  // stats of routers already replaced by churn
    std::uint64_t m_lost = 0, m_px_offers = 0, m_leaves = 0, m_joins = 0, m_events = 0;
    std::unordered_map<std::string, Result<PeerId>> m_verified;
    std::uint64_t m_verifications = 0;
};

Options Simulator::node_options(std::uint32_t i) {
    Options o;
    o.rng_seed = splitmix(m_cfg.seed * 1000003 + i + 1);
    // Monotonic across restarts of the same node, as a wall-clock seed is in the real daemon.
    o.initial_seqno = static_cast<std::uint64_t>(m_now) * 1000 + 1;
    if (!m_cfg.verify_all) {
        // One real verification per distinct (id, signature), shared by all virtual nodes.
        o.verifier = [this](const pb::Message& m) -> Result<PeerId> {
            std::string key = m.SerializeAsString();  // every field the result depends on
            const auto it = m_verified.find(key);
            if (it != m_verified.end()) return it->second;
            auto r = verify_message(m);
            ++m_verifications;
            m_verified.emplace(std::move(key), r);
            return r;
        };
    }
    return o;
}

void Simulator::start_node(std::uint32_t i) {
    Node& n = m_nodes[i];
    Bytes seed(32, 0);
    const std::uint64_t s = splitmix(m_cfg.seed ^ (0xabcdefULL + i));
    for (int k = 0; k < 8; ++k) seed[k] = static_cast<std::uint8_t>(s >> (8 * k));
    for (int k = 0; k < 4; ++k) seed[8 + k] = static_cast<std::uint8_t>(i >> (8 * k));
    n.router = std::make_unique<Router>(crypto::PrivateKey::from_seed(seed), node_options(i));
    n.id = n.router->self();
    n.online = true;
    ++n.incarnation;
    m_index[n.id] = i;
    apply(i, n.router->subscribe(kTopic, to_time(m_now)));
    // Heartbeats at a per-node phase, as real nodes start at different times.
    schedule(Event{m_now + n.phase, 0, Kind::heartbeat, i, 0, n.incarnation, 0, {}});
}

Micros Simulator::link_latency(std::uint32_t a, std::uint32_t b) const {
    const std::uint64_t key = (static_cast<std::uint64_t>(std::min(a, b)) << 32) | std::max(a, b);
    const double u =
        static_cast<double>(splitmix(key ^ (m_cfg.seed * 0x632be59bd9b4e019ULL)) >> 11) *
        (1.0 / 9007199254740992.0);
    const double ms = m_cfg.latency_min_ms + u * (m_cfg.latency_max_ms - m_cfg.latency_min_ms);
    return static_cast<Micros>(ms * 1000.0);
}

void Simulator::connect(std::uint32_t a, std::uint32_t b) {
    Node& na = m_nodes[a];
    Node& nb = m_nodes[b];
    if (a == b || !na.online || !nb.online || na.link(b)) return;
    na.links.emplace_back(b, 0);
    nb.links.emplace_back(a, 0);
    apply(a, na.router->add_peer(nb.id, true, Protocol::v11, to_time(m_now)));
    apply(b, nb.router->add_peer(na.id, false, Protocol::v11, to_time(m_now)));
}

void Simulator::disconnect(std::uint32_t a, std::uint32_t b) {
    Node& na = m_nodes[a];
    Node& nb = m_nodes[b];
    if (!na.link(b)) return;
    std::erase_if(na.links, [&](const auto& l) { return l.first == b; });
    std::erase_if(nb.links, [&](const auto& l) { return l.first == a; });
    if (na.online) apply(a, na.router->remove_peer(nb.id, to_time(m_now)));
    if (nb.online) apply(b, nb.router->remove_peer(na.id, to_time(m_now)));
}

void Simulator::apply(std::uint32_t node, Actions actions) {
    Node& n = m_nodes[node];
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (auto& send : actions.sends) {
        const auto it = m_index.find(send.peer);
        n.router->on_written(send.peer, send.data.size());  // no bandwidth limit modelled
        if (it == m_index.end()) continue;
        const std::uint32_t to = it->second;
        if (m_cfg.loss > 0 && unit(m_rng) < m_cfg.loss) {
            ++m_lost;
            continue;
        }
        Micros at = m_now + link_latency(node, to);
        if (m_cfg.jitter_ms > 0) at += static_cast<Micros>(unit(m_rng) * m_cfg.jitter_ms * 1000.0);
        auto* link = n.link(to);
        if (!link) continue;
        Micros& last = link->second;
        at = std::max(at, last);
        last = at;
        schedule(Event{at, 0, Kind::deliver, to, node, m_nodes[to].incarnation, n.incarnation,
                       std::move(send.data)});
    }
    for (const auto& d : actions.deliveries) {
        if (d.data.size() < 8) continue;
        std::uint64_t k = 0;
        for (int i = 0; i < 8; ++i) k = (k << 8) | d.data[i];
        if (k >= m_messages.size()) continue;
        auto& first = m_messages[k].first_delivery[node];
        if (first < 0) first = m_now;
    }
    for (const auto& c : actions.connects) {
        ++m_px_offers;
        if (!m_cfg.px_dial) continue;
        const auto it = m_index.find(c.peer);
        if (it != m_index.end() && n.links.size() < 2 * m_cfg.degree) connect(node, it->second);
    }
    for (const auto& d : actions.disconnects) {
        const auto it = m_index.find(d.peer);
        if (it != m_index.end()) disconnect(node, it->second);
    }
}

void Simulator::build_topology() {
    // Random regular graph: a circulant graph of the requested degree, then random
    // degree-preserving double-edge swaps.
    const std::size_t n = m_cfg.nodes;
    const std::size_t half = std::max<std::size_t>(1, m_cfg.degree / 2);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
    std::unordered_set<std::uint64_t> present;
    auto key = [](std::uint32_t a, std::uint32_t b) {
        return (static_cast<std::uint64_t>(std::min(a, b)) << 32) | std::max(a, b);
    };
    for (std::uint32_t i = 0; i < n; ++i) {
        for (std::size_t k = 1; k <= half && k < n; ++k) {
            const auto j = static_cast<std::uint32_t>((i + k) % n);
            if (present.insert(key(i, j)).second) edges.emplace_back(i, j);
        }
    }
    std::uniform_int_distribution<std::size_t> pick(0, edges.size() - 1);
    for (std::size_t s = 0; s < 10 * edges.size(); ++s) {
        auto& e1 = edges[pick(m_rng)];
        auto& e2 = edges[pick(m_rng)];
        const auto [a, b] = e1;
        const auto [c, d] = e2;
        if (a == c || a == d || b == c || b == d) continue;
        if (present.contains(key(a, d)) || present.contains(key(c, b))) continue;
        present.erase(key(a, b));
        present.erase(key(c, d));
        present.insert(key(a, d));
        present.insert(key(c, b));
        e1 = {a, d};
        e2 = {c, b};
    }
    std::bernoulli_distribution coin(0.5);
    for (const auto& [a, b] : edges) {
        if (coin(m_rng)) {
            connect(a, b);
        } else {
            connect(b, a);
        }
    }
}

void Simulator::harvest(const Router& r) {
    const Stats& s = r.stats();
    m_totals.published += s.published;
    m_totals.delivered += s.delivered;
    m_totals.messages_received += s.messages_received;
    m_totals.duplicates += s.duplicates;
    m_totals.rejected_unsigned += s.rejected_unsigned;
    m_totals.rejected_signature += s.rejected_signature;
    m_totals.rejected_forged_self += s.rejected_forged_self;
    m_totals.rejected_invalid += s.rejected_invalid;
    m_totals.messages_sent += s.messages_sent;
    m_totals.rpcs_sent += s.rpcs_sent;
    m_totals.bytes_sent += s.bytes_sent;
    m_totals.control_bytes_sent += s.control_bytes_sent;
    m_totals.ihave_ids_sent += s.ihave_ids_sent;
    m_totals.iwant_ids_sent += s.iwant_ids_sent;
    m_totals.grafts_sent += s.grafts_sent;
    m_totals.prunes_sent += s.prunes_sent;
    m_totals.dropped_too_large += s.dropped_too_large;
    m_totals.dropped_malformed += s.dropped_malformed;
    m_totals.dropped_other += s.dropped_other;
}

void Simulator::leave(std::uint32_t i) {
    Node& n = m_nodes[i];
    std::vector<std::uint32_t> links;
    for (const auto& [j, last] : n.links) links.push_back(j);
    for (const auto j : links) disconnect(i, j);
    harvest(*n.router);
    n.online = false;
    ++n.incarnation;  // in-flight RPCs to and from the old instance are discarded
    ++m_leaves;
    // A node that leaves misses the messages published while it was away.
    for (auto& m : m_messages) {
        if (m.first_delivery[i] < 0) m.target[i] = false;
    }
    schedule(Event{m_now + static_cast<Micros>(m_cfg.downtime_s * kSecond),
                   0,
                   Kind::join,
                   i,
                   0,
                   n.incarnation,
                   0,
                   {}});
}

int Simulator::run() {
    const auto wall_start = std::chrono::steady_clock::now();
    m_nodes.resize(m_cfg.nodes);
    std::uniform_int_distribution<Micros> phase(0, kSecond - 1);
    for (auto& n : m_nodes) n.phase = phase(m_rng);
    for (std::uint32_t i = 0; i < m_cfg.nodes; ++i) start_node(i);
    build_topology();

    const Micros first_publish = static_cast<Micros>(m_cfg.warmup_s * kSecond);
    const Micros interval = static_cast<Micros>(m_cfg.interval_ms * 1000.0);
    const Micros end = first_publish + static_cast<Micros>(m_cfg.messages) * interval +
                       static_cast<Micros>(m_cfg.drain_s * kSecond);
    for (std::size_t k = 0; k < m_cfg.messages; ++k) {
        schedule(Event{
            first_publish + static_cast<Micros>(k) * interval, 0, Kind::publish, 0, 0, 0, 0, {}});
    }
    if (m_cfg.churn > 0) {
        // Leaves happen while messages are being published; a node offline at the end is not
        // counted as a target for anything.
        std::exponential_distribution<double> gap(m_cfg.churn);
        const double last_publish = static_cast<double>(end) / kSecond - m_cfg.drain_s;
        for (double t = m_cfg.warmup_s + gap(m_rng); t < last_publish; t += gap(m_rng)) {
            schedule(Event{static_cast<Micros>(t * kSecond), 0, Kind::leave, 0, 0, 0, 0, {}});
        }
    }

    std::uniform_int_distribution<std::uint32_t> any_node(
        0, static_cast<std::uint32_t>(m_cfg.nodes - 1));
    while (!m_queue.empty()) {
        std::pop_heap(m_queue.begin(), m_queue.end(), Later{});
        Event e = std::move(m_queue.back());
        m_queue.pop_back();
        if (e.at > end) break;
        m_now = e.at;
        ++m_events;
        switch (e.kind) {
            case Kind::deliver: {
                Node& to = m_nodes[e.node];
                const Node& from = m_nodes[e.from];
                if (!to.online || to.incarnation != e.incarnation_to ||
                    from.incarnation != e.incarnation_from || !to.link(e.from)) {
                    break;
                }
                apply(e.node, to.router->handle_data(from.id, e.data, to_time(m_now)));
                break;
            }
            case Kind::heartbeat: {
                Node& n = m_nodes[e.node];
                if (!n.online || n.incarnation != e.incarnation_to) break;
                apply(e.node, n.router->heartbeat(to_time(m_now)));
                schedule(
                    Event{m_now + kSecond, 0, Kind::heartbeat, e.node, 0, n.incarnation, 0, {}});
                break;
            }
            case Kind::publish: {
                std::uint32_t p = any_node(m_rng);
                while (!m_nodes[p].online) p = any_node(m_rng);
                const std::uint64_t k = m_messages.size();
                MessageRecord rec{m_now, p, std::vector<Micros>(m_cfg.nodes, -1),
                                  std::vector<bool>(m_cfg.nodes, false)};
                for (std::uint32_t i = 0; i < m_cfg.nodes; ++i) {
                    rec.target[i] = m_nodes[i].online && i != p;
                }
                m_messages.push_back(std::move(rec));
                Bytes data(std::max<std::size_t>(8, m_cfg.message_size), 0);
                for (int i = 0; i < 8; ++i) data[i] = static_cast<std::uint8_t>(k >> (8 * (7 - i)));
                auto r = m_nodes[p].router->publish(kTopic, data, to_time(m_now));
                if (r) apply(p, std::move(r).value());
                break;
            }
            case Kind::leave: {
                std::uint32_t i = any_node(m_rng);
                for (int tries = 0; !m_nodes[i].online && tries < 100; ++tries) i = any_node(m_rng);
                if (m_nodes[i].online) leave(i);
                break;
            }
            case Kind::join: {
                const std::uint32_t i = e.node;
                if (m_nodes[i].online) break;
                ++m_joins;
                m_nodes[i].phase = phase(m_rng);
                start_node(i);
                for (std::size_t k = 0, tries = 0; k < m_cfg.degree && tries < 10 * m_cfg.degree;
                     ++tries) {
                    const std::uint32_t j = any_node(m_rng);
                    if (j == i || !m_nodes[j].online || m_nodes[i].link(j)) continue;
                    connect(i, j);
                    ++k;
                }
                break;
            }
        }
    }
    for (const auto& n : m_nodes) {
        if (n.online) harvest(*n.router);
    }

    // Results.
    std::uint64_t expected = 0, delivered = 0;
    std::vector<double> latency_ms;
    for (const auto& m : m_messages) {
        for (std::size_t i = 0; i < m_cfg.nodes; ++i) {
            if (!m.target[i] || !m_nodes[i].online) continue;
            ++expected;
            if (m.first_delivery[i] >= 0) {
                ++delivered;
                latency_ms.push_back(static_cast<double>(m.first_delivery[i] - m.published_at) /
                                     1000.0);
            }
        }
    }
    const double all_deliveries =
        static_cast<double>(std::max<std::uint64_t>(1, m_totals.delivered));
    const double ratio =
        expected ? static_cast<double>(delivered) / static_cast<double>(expected) : 0;
    const double hb_ms = 1000.0;
    std::vector<double> lat = latency_ms;
    const double p50 = bench::quantile(lat, 0.50);
    const double p99 = bench::quantile(lat, 0.99);
    const double pmax = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());

    std::printf(
        "gossipsub simulation: nodes=%zu degree=%zu messages=%zu interval=%.0fms size=%zuB "
        "latency=%.0f-%.0fms loss=%.3f churn=%.2f/s seed=%llu\n",
        m_cfg.nodes, m_cfg.degree, m_cfg.messages, m_cfg.interval_ms, m_cfg.message_size,
        m_cfg.latency_min_ms, m_cfg.latency_max_ms, m_cfg.loss, m_cfg.churn,
        static_cast<unsigned long long>(m_cfg.seed));
    std::printf("  delivery ratio               %.6f (%llu / %llu)\n", ratio,
                static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(expected));
    std::printf("  propagation latency ms       p50 %.1f  p99 %.1f  max %.1f\n", p50, p99, pmax);
    std::printf("  propagation latency hb       p50 %.3f  p99 %.3f  (heartbeat %.0f ms)\n",
                p50 / hb_ms, p99 / hb_ms, hb_ms);
    std::printf("  duplicates per delivery      %.3f\n",
                static_cast<double>(m_totals.duplicates) / all_deliveries);
    std::printf("  messages sent per delivery   %.3f  (published 1000-node anchor ~6.3)\n",
                static_cast<double>(m_totals.messages_sent) / all_deliveries);
    std::printf(
        "  control per delivery         IHAVE ids %.2f  IWANT ids %.3f  GRAFT %.4f  PRUNE %.4f\n",
        static_cast<double>(m_totals.ihave_ids_sent) / all_deliveries,
        static_cast<double>(m_totals.iwant_ids_sent) / all_deliveries,
        static_cast<double>(m_totals.grafts_sent) / all_deliveries,
        static_cast<double>(m_totals.prunes_sent) / all_deliveries);
    std::printf("  bytes                        total %llu  control %llu (%.1f%%)\n",
                static_cast<unsigned long long>(m_totals.bytes_sent),
                static_cast<unsigned long long>(m_totals.control_bytes_sent),
                100.0 * static_cast<double>(m_totals.control_bytes_sent) /
                    static_cast<double>(std::max<std::uint64_t>(1, m_totals.bytes_sent)));
    std::printf(
        "  rpcs %llu  lost %llu  px offers %llu  leaves %llu  joins %llu  dropped peers %llu  "
        "events %llu\n",
        static_cast<unsigned long long>(m_totals.rpcs_sent),
        static_cast<unsigned long long>(m_lost), static_cast<unsigned long long>(m_px_offers),
        static_cast<unsigned long long>(m_leaves), static_cast<unsigned long long>(m_joins),
        static_cast<unsigned long long>(m_totals.peers_dropped()),
        static_cast<unsigned long long>(m_events));
    std::fflush(stdout);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::fprintf(stderr, "wall time %.2f s (simulated %.1f s), %llu signature verifications%s\n",
                 wall, static_cast<double>(end) / kSecond,
                 static_cast<unsigned long long>(m_verifications),
                 m_cfg.verify_all ? " (not counted: --verify-all)" : "");
    if (m_cfg.expect_delivery >= 0 && ratio + 1e-12 < m_cfg.expect_delivery) {
        std::fprintf(stderr, "FAIL: delivery ratio %.6f below expected %.6f\n", ratio,
                     m_cfg.expect_delivery);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    CLI::App app{"gossipsub simulator: the real router over simulated links"};
    app.add_option("--nodes", c.nodes, "virtual nodes")->check(CLI::Range(2, 100000));
    app.add_option("--degree", c.degree, "connections per node (random regular graph)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--messages", c.messages, "messages to publish");
    app.add_option("--interval-ms", c.interval_ms, "time between publications");
    app.add_option("--size", c.message_size, "message payload bytes (>= 8)");
    app.add_option("--latency-min-ms", c.latency_min_ms, "per-link latency lower bound");
    app.add_option("--latency-max-ms", c.latency_max_ms, "per-link latency upper bound");
    app.add_option("--jitter-ms", c.jitter_ms, "per-RPC extra delay, uniform in [0, jitter]");
    app.add_option("--loss", c.loss, "probability an RPC batch is lost")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--churn", c.churn, "node departures per second (each rejoins after downtime)");
    app.add_option("--downtime-s", c.downtime_s, "how long a departed node stays away");
    app.add_option("--warmup-s", c.warmup_s, "mesh formation time before the first publication");
    app.add_option("--drain-s", c.drain_s, "time after the last publication");
    app.add_option("--seed", c.seed, "seed for topology, latencies, loss, churn and routers");
    app.add_option("--expect-delivery", c.expect_delivery, "exit 1 if the delivery ratio is lower");
    app.add_flag("--px-dial", c.px_dial, "dial peers offered through PRUNE peer exchange");
    app.add_flag("--verify-all", c.verify_all,
                 "every node verifies every signature (default: one shared verification cache)");
    CLI11_PARSE(app, argc, argv);
    if (c.degree >= c.nodes) c.degree = c.nodes - 1;
    spdlog::set_level(spdlog::level::warn);
    Simulator sim(c);
    return sim.run();
}
