// The daemon's benchmark: a testnet of real `swarmd run` processes on loopback (a bootstrap node
// and N trainers, ZO mode, a short variant of the embedded default spec), measured from outside:
//   - swarm-wide updates per second, from the nodes' update traces (`run --trace-updates`);
//   - bytes per update: the zo message, its signed gossip entry, and every node's gossip byte
//     counters (/api/status) divided by the updates published;
//   - publish -> apply latency, over every (update, other trainer) pair and as the time until
//     the update is applied on every other trainer (CLOCK_MONOTONIC, shared by the processes);
//   - the final merge's duration: from the first trainer reaching the merge round to the last
//     one having written its merged model (manifest mtime);
//   - the merged model's held-out accuracy against one node trained in-process (training/) on
//     all the data for the same number of forward passes as the whole swarm.
//
//   bench_testnet [--nodes 8] [--rounds 3000] [--round-interval-ms 20] [--timeout-s 900]
//                 [--swarmd PATH] [--keep]
//
// Run it niced (`nice -n 10`) and alone; it takes a few minutes and is not part of ctest.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/encoding.hpp"
#include "bench/zo_common.hpp"
#include "net/gossipsub.hpp"
#include "net/gossipsub_message.hpp"
#include "node/daemon.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/engine.hpp"
#include "tests/e2e/swarm_processes.hpp"
#include "training/data.hpp"
#include "training/params.hpp"
#include "training/zo.hpp"

namespace {

using namespace swarmd;
using e2e::json;
using e2e::SwarmdProcess;
namespace fs = std::filesystem;

struct Options {
    std::size_t nodes = 8;
    std::int64_t rounds = 3000;  // the embedded default spec's
    long round_interval_ms = 20;
    long timeout_s = 900;
    std::string swarmd = SWARMD_BINARY;
    bool keep = false;
};

double seconds_of(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double mtime(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return NAN;
    return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) * 1e-9;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
}

// One event of a node's update trace (node/zo/update_trace.hpp).
struct TraceEvent {
    std::uint64_t ns = 0;
    bool publish = false;
    std::string author;  // hex peer id bytes
    std::uint64_t round = 0;
    std::uint32_t index = 0;
};

std::vector<TraceEvent> read_trace(const fs::path& path) {
    std::vector<TraceEvent> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        std::istringstream s(line);
        TraceEvent e;
        std::string kind;
        if (!(s >> e.ns >> kind >> e.author >> e.round >> e.index)) continue;  // a torn last line
        e.publish = kind == "publish";
        out.push_back(std::move(e));
    }
    return out;
}

using UpdateKey = std::tuple<std::string, std::uint64_t, std::uint32_t>;

// The size of one zo update as a signed gossipsub Message entry inside an RPC: what each copy
// of an update costs on a gossip stream, before libp2p framing.
std::size_t signed_entry_size(const node::SwarmId& id) {
    const auto key = crypto::PrivateKey::generate();
    const auto peer = crypto::PeerId::from_public_key(key.public_key());
    training::Update u{peer.bytes(), 1, 0, 1};
    const auto data = node::encode_zo_message(u);
    const auto m = net::gossipsub::make_signed_message(
        key, peer, node::zo_topic(id), data, 1u << 20, net::gossipsub::Options{}.sign_include_key);
    const auto raw = m.ByteSizeLong();
    std::size_t varint = 1;
    for (auto n = raw; n >= 0x80; n >>= 7) ++varint;
    return 1 + varint + raw;
}

// The single-node baseline: `steps` ZO steps in one process on the whole training split, with
// the swarm's initial parameters and hyperparameters (as node/zo/engine.cpp builds them), each
// step applying its own update. Returns held-out accuracy after every step in `at`.
std::vector<double> single_node(const node::Spec& spec, const node::SwarmId& id,
                                std::uint64_t steps, const std::vector<std::uint64_t>& at,
                                std::uint64_t seed) {
    auto data = training::load_digits();
    if (!data) throw std::runtime_error("cannot load digits: " + data.error().message());
    training::MlpOptions mo;
    mo.hidden.assign(spec.zo.hidden.begin(), spec.zo.hidden.end());
    mo.test_every =
        std::max<std::size_t>(2, static_cast<std::size_t>(1.0 / spec.zo.test_fraction + 0.5));
    auto task = training::make_digits_mlp(data.value(), mo);
    training::ZoOptions o;
    o.eps = static_cast<float>(spec.zo.epsilon);
    o.lr = static_cast<float>(spec.zo.lr);
    o.scale = static_cast<float>(spec.zo.scale);
    o.directions = static_cast<std::uint32_t>(spec.zo.directions);
    o.batch = static_cast<std::uint32_t>(spec.zo.batch);
    o.dist = spec.zo.perturbation == node::Perturbation::gaussian ? training::ZDist::gaussian
                                                                  : training::ZDist::rademacher;
    const Bytes swarm(id.bytes().begin(), id.bytes().end());
    const training::ApplyRule rule{swarm, o.dist, o.lr, o.scale};
    auto theta =
        training::init_params(task->layout(), swarm, static_cast<std::uint64_t>(spec.seed));
    const Bytes author{0x00, 0x24, 0x5b, static_cast<std::uint8_t>(seed)};
    std::mt19937_64 rng(seed);
    std::vector<double> out;
    std::vector<std::uint32_t> batch(o.batch);
    for (std::uint64_t r = 1; r <= steps; ++r) {
        for (auto& b : batch) b = static_cast<std::uint32_t>(rng() % task->train_size());
        const auto s = training::zo_step(*task, theta, swarm, author, r, batch, o);
        training::apply_updates(theta, s.updates, rule);
        if (std::find(at.begin(), at.end(), r) != at.end()) {
            out.push_back(task->evaluate(theta).accuracy);
        }
    }
    return out;
}

int usage() {
    std::cerr << "usage: bench_testnet [--nodes 8] [--rounds 3000] [--round-interval-ms 20] "
                 "[--timeout-s 900] [--swarmd PATH] [--keep]\n";
    return 2;
}

int run(const Options& o) {
    // The spec: the embedded default with a shorter run (so a different swarm id).
    node::Spec spec = node::default_spec();
    if (spec.mode != node::Mode::zo || spec.zo.model != node::ZoModelKind::mlp ||
        spec.zo.data != node::DataSet::digits) {
        std::cerr << "bench_testnet: the default spec is not the digits MLP in ZO mode\n";
        return 1;
    }
    spec.rounds = spec.merge_round = o.rounds;
    const auto id = node::SwarmId::of(spec);

    std::string pattern = (fs::temp_directory_path() / "swarmd-testnet-bench.XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a scratch directory");
    const fs::path dir = pattern;
    { std::ofstream(dir / "spec.toml") << node::canonical_text(spec); }
    const std::vector<std::string> common = {"--spec", (dir / "spec.toml").string()};
    std::printf(
        "swarm %s: %zu trainers + 1 bootstrap node, %lld rounds, round interval %ld ms, "
        "data in %s\n",
        id.short_hex().c_str(), o.nodes, static_cast<long long>(o.rounds), o.round_interval_ms,
        dir.c_str());
    std::fflush(stdout);

    std::vector<std::unique_ptr<SwarmdProcess>> procs;  // [0] is the bootstrap node
    auto fail = [&](const std::string& why) {
        std::cerr << "bench_testnet: " << why << "\n";
        for (std::size_t i = 0; i < procs.size(); ++i) {
            std::cerr << "---- node " << i << " (" << procs[i]->dir() << "):\n"
                      << procs[i]->log_tail(10);
        }
        return 1;
    };
    procs.push_back(std::make_unique<SwarmdProcess>(o.swarmd, dir / "boot", common));
    procs[0]->start({"--bootstrap-node"});
    if (!e2e::poll_until(std::chrono::seconds(60),
                         [&] { return procs[0]->status().has_value(); })) {
        return fail("the bootstrap node did not come up");
    }
    if (procs[0]->status()->value("swarm_id", "") != id.hex()) {
        return fail("swarmd computes another swarm id for the spec than this benchmark");
    }
    for (std::size_t i = 1; i <= o.nodes; ++i) {
        const auto node_dir = dir / ("node" + std::to_string(i));
        procs.push_back(std::make_unique<SwarmdProcess>(o.swarmd, node_dir, common));
        procs[i]->start({"--bootstrap", procs[0]->p2p_addr(), "--round-interval-ms",
                         std::to_string(o.round_interval_ms), "--trace-updates",
                         (node_dir / "trace").string()});
    }

    // Poll until every trainer has written the same merged model.
    const auto merge_round = static_cast<std::uint64_t>(o.rounds);
    std::vector<json> last(o.nodes + 1);
    const auto deadline = e2e::Clock::now() + std::chrono::seconds(o.timeout_s);
    auto next_line = e2e::Clock::now();
    std::string hash;
    while (true) {
        std::size_t merged = 0;
        std::set<std::string> hashes;
        std::optional<std::uint64_t> slowest;
        for (std::size_t i = 1; i <= o.nodes; ++i) {
            if (!procs[i]->running()) return fail("node " + std::to_string(i) + " exited");
            auto s = procs[i]->status();
            if (!s) continue;
            last[i] = *s;
            if (s->value("merge_state", "") == "merged") {
                ++merged;
                hashes.insert(s->value("merged_hash", ""));
            }
            const std::uint64_t round = s->value("round", 0);
            slowest = std::min(slowest.value_or(round), round);
        }
        if (merged == o.nodes && hashes.size() == 1) {
            hash = *hashes.begin();
            break;
        }
        if (e2e::Clock::now() >= deadline) {
            return fail(std::to_string(merged) + " of " + std::to_string(o.nodes) +
                        " trainers merged (" + std::to_string(hashes.size()) + " hashes) in time");
        }
        if (e2e::Clock::now() >= next_line) {
            std::printf("  slowest trainer at round %llu/%llu, %zu merged\n",
                        static_cast<unsigned long long>(slowest.value_or(0)),
                        static_cast<unsigned long long>(merge_round), merged);
            std::fflush(stdout);
            next_line += std::chrono::seconds(10);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Byte counters of every node, the bootstrap node's relaying included.
    if (auto s = procs[0]->status()) last[0] = *s;
    std::uint64_t bytes = 0, control = 0, entries = 0, published = 0, updates_out = 0;
    for (const auto& s : last) {
        bytes += s.value("bytes_out", 0ull);
        control += s.value("control_bytes_out", 0ull);
        entries += s.value("messages_out", 0ull);
        published += s.value("messages_published", 0ull);
        updates_out += s.value("updates_out", 0ull);
    }
    for (auto& p : procs) p->kill(SIGTERM);

    // The last manifest written (realtime), and node 1's.
    double merge_end = 0;
    for (std::size_t i = 1; i <= o.nodes; ++i) {
        merge_end = std::max(merge_end, mtime(procs[i]->dir() / "final" / "manifest.json"));
    }
    const auto manifest =
        json::parse(std::ifstream(procs[1]->dir() / "final" / "manifest.json"), nullptr, false);
    if (!manifest.is_object()) return fail("cannot read node 1's merge manifest");
    const auto merged_updates = manifest.value("updates", 0ull);
    const double merged_accuracy = manifest.value("accuracy", -1.0);

    // Traces: publish times by update, apply times by (update, node).
    std::map<UpdateKey, std::pair<std::uint64_t, std::size_t>> publish;  // -> (ns, author node)
    std::vector<std::map<UpdateKey, std::uint64_t>> applied(o.nodes + 1);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> span(o.nodes + 1, {UINT64_MAX, 0});
    std::vector<std::uint64_t> at_merge_round(o.nodes + 1, 0);  // its merge-round update published
    for (std::size_t i = 1; i <= o.nodes; ++i) {
        for (auto& e : read_trace(procs[i]->dir() / "trace")) {
            UpdateKey key{e.author, e.round, e.index};
            if (e.publish) {
                publish[key] = {e.ns, i};
                span[i].first = std::min(span[i].first, e.ns);
                span[i].second = std::max(span[i].second, e.ns);
                if (e.round == merge_round) at_merge_round[i] = e.ns;
            } else {
                applied[i].emplace(key, e.ns);
            }
        }
    }
    if (publish.empty()) return fail("the traces hold no published update");
    // Rates: over the whole run, and over the window in which every trainer was publishing.
    std::uint64_t first = UINT64_MAX, final_publish = 0, all_from = 0, all_to = UINT64_MAX;
    for (std::size_t i = 1; i <= o.nodes; ++i) {
        first = std::min(first, span[i].first);
        final_publish = std::max(final_publish, span[i].second);
        all_from = std::max(all_from, span[i].first);
        all_to = std::min(all_to, span[i].second);
    }
    std::size_t in_window = 0;
    for (const auto& [key, pub] : publish) {
        in_window += pub.first >= all_from && pub.first <= all_to;
    }
    // Latency counts a pair only when the receiver was already training (it had published its
    // first update) at the publish; older updates reach a late starter by its catch-up fetch.
    std::vector<double> pair_ms, all_ms;
    std::size_t missing = 0, caught_up = 0;
    for (const auto& [key, pub] : publish) {
        double worst = 0;
        bool everywhere = pub.first >= all_from;
        for (std::size_t i = 1; i <= o.nodes; ++i) {
            if (i == pub.second) continue;
            auto a = applied[i].find(key);
            if (a == applied[i].end()) {
                ++missing;
                everywhere = false;
                continue;
            }
            if (pub.first < span[i].first) {
                ++caught_up;
                continue;
            }
            const double ms =
                (static_cast<double>(a->second) - static_cast<double>(pub.first)) * 1e-6;
            pair_ms.push_back(ms);
            worst = std::max(worst, ms);
        }
        if (everywhere) all_ms.push_back(worst);
    }
    const double run_s = static_cast<double>(final_publish - first) * 1e-9;
    // The merge: a trainer reaches the merge round when it publishes its update for it (it
    // enters the merge at its next step). Trace times are CLOCK_MONOTONIC, manifest times
    // CLOCK_REALTIME; the offset between them is the same in every process.
    const double offset = seconds_of(CLOCK_REALTIME) - seconds_of(CLOCK_MONOTONIC);
    const auto [first_at, last_at] =
        std::minmax_element(at_merge_round.begin() + 1, at_merge_round.end());
    if (*first_at == 0) return fail("a trainer's trace lacks its merge-round update");
    const double merge_from_first = merge_end - (static_cast<double>(*first_at) * 1e-9 + offset);
    const double merge_from_last = merge_end - (static_cast<double>(*last_at) * 1e-9 + offset);
    const double window_s = all_to > all_from ? static_cast<double>(all_to - all_from) * 1e-9 : NAN;

    // The single node: as many ZO steps (two forward passes each per direction) as the merged
    // model holds updates; also at 1/N of that, the budget one trainer has in the swarm's time.
    const std::uint64_t steps =
        merged_updates / static_cast<std::uint64_t>(std::max<std::int64_t>(1, spec.zo.directions));
    const std::vector<std::uint64_t> at{steps / o.nodes, steps};
    bench::single_thread();
    std::vector<double> solo_full, solo_share;
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        auto acc = single_node(spec, id, steps, at, seed);
        solo_share.push_back(acc.at(0));
        solo_full.push_back(acc.at(1));
    }
    auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return s / static_cast<double>(v.size());
    };
    auto range = [&](const std::vector<double>& v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f (%.3f-%.3f, 3 seeds)", mean(v),
                      *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
        return std::string(buf);
    };

    const auto entry = signed_entry_size(id);
    const double copies =
        published ? static_cast<double>(entries) / static_cast<double>(published) : NAN;
    const double per_update = static_cast<double>(bytes) / static_cast<double>(updates_out);
    std::printf("\n%-44s %s\n", "metric", "value");
    auto row = [](const char* name, const std::string& value) {
        std::printf("%-44s %s\n", name, value.c_str());
    };
    auto f = [](const char* fmt, auto... v) {
        char buf[160];
        std::snprintf(buf, sizeof buf, fmt, v...);
        return std::string(buf);
    };
    row("updates published", f("%zu (%llu in the merged model)", publish.size(),
                               static_cast<unsigned long long>(merged_updates)));
    row("swarm-wide updates/s, all trainers publishing",
        f("%.1f (%zu in %.1f s)", in_window / window_s, in_window, window_s));
    row("swarm-wide updates/s, whole run",
        f("%.1f (%zu in %.1f s)", publish.size() / run_s, publish.size(), run_s));
    row("update payload (zo message)", f("%zu B", node::kZoMessageSize));
    row("signed gossip entry per copy", f("%zu B", entry));
    row("gossip copies sent per message", f("%.2f (all topics, %zu nodes)", copies, o.nodes + 1));
    row("gossip bytes sent per update, zo copies",
        f("~%.0f B (copies x entry)", copies * static_cast<double>(entry)));
    row("gossip bytes sent per update, all traffic",
        f("%.0f B (control %.0f B, status beats and framing the rest)", per_update,
          static_cast<double>(control) / static_cast<double>(updates_out)));
    row("publish->apply, each (update, node) pair",
        f("p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu pairs)", percentile(pair_ms, 0.5),
          percentile(pair_ms, 0.99), percentile(pair_ms, 1.0), pair_ms.size()));
    row("publish->applied on every other trainer",
        f("p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu updates)", percentile(all_ms, 0.5),
          percentile(all_ms, 0.99), percentile(all_ms, 1.0), all_ms.size()));
    const auto over_1s =
        std::count_if(pair_ms.begin(), pair_ms.end(), [](double ms) { return ms > 1000; });
    row("pairs applied over 1 s after the publish", f("%zu", static_cast<std::size_t>(over_1s)));
    row("(update, node) pairs never applied", f("%zu", missing));
    row("pairs applied by a late starter's catch-up", f("%zu (not in the latencies)", caught_up));
    row("merge: first at merge round -> all written",
        f("%.2f s (grace %lld ms)", merge_from_first,
          static_cast<long long>(node::RunOptions::kDefaultMergeGrace.count())));
    row("merge: last at merge round -> all written", f("%.2f s", merge_from_last));
    row("merged hash (all trainers)", hash.substr(0, 16));
    row("merged swarm accuracy (held out)", f("%.3f", merged_accuracy));
    row("single node, same forward passes",
        range(solo_full) + f(", %llu steps", static_cast<unsigned long long>(steps)));
    row("single node, 1/N of them",
        range(solo_share) + f(", %llu steps", static_cast<unsigned long long>(at[0])));

    if (!o.keep) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--keep") {
            o.keep = true;
            continue;
        }
        if (i + 1 >= argc) return usage();
        const std::string value = argv[++i];
        try {
            if (flag == "--nodes")
                o.nodes = std::stoul(value);
            else if (flag == "--rounds")
                o.rounds = std::stoll(value);
            else if (flag == "--round-interval-ms")
                o.round_interval_ms = std::stol(value);
            else if (flag == "--timeout-s")
                o.timeout_s = std::stol(value);
            else if (flag == "--swarmd")
                o.swarmd = value;
            else
                return usage();
        } catch (const std::exception&) {
            return usage();
        }
    }
    if (o.nodes < 2 || o.nodes > 64 || o.rounds < 10 || o.round_interval_ms < 0) return usage();
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "bench_testnet: " << e.what() << "\n";
        return 1;
    }
}
