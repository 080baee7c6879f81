// The daemon's SAPO engine on its compute thread: base policy made once and cached, rounds that
// publish valid rollout batches, external batches used, the commitment at the merge round, the
// merge written with its manifest, and a restart that resumes.
#include <catch2/catch.hpp>

#include <filesystem>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "crypto/keys.hpp"
#include "node/ops/logging.hpp"
#include "node/sapo/engine.hpp"
#include "rl/sampler.hpp"
#include "rl/swarm.hpp"

// LibTorch's headers bring glog, whose CHECK (abort on failure) replaces Catch's: put Catch's back
// so that every check is reported and counted.
#undef CHECK
#define CHECK(...) \
    INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace swarmd;
using namespace swarmd::node;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr const char* kSpec = R"(
mode = "sapo"
name = "engine-test"
rounds = 3
[sapo]
completions = 4
local = 2
external = 2
max_tokens = 6
staleness = 2
[sapo.tasks]
families = ["add", "reverse"]
[[sapo.policies]]
name = "tiny"
d_model = 16
layers = 1
heads = 2
max_len = 24
warmup_steps = 20
[[sapo.policies]]
name = "wide"
d_model = 24
layers = 1
heads = 2
max_len = 24
warmup_steps = 20
)";

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("swarmd-sapo-engine-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::rand()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

struct Run {
    std::vector<std::pair<std::uint64_t, Bytes>> published;
    std::vector<SapoProgress> progress;
    SharedWeights committed;
};

// Other tests in this binary point the loggers at sinks of their own that they destroy.
struct DefaultLogging {
    DefaultLogging() { setup_logging(LogOptions{}); }
};

std::string peer_name() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).to_base58();
}

}  // namespace

TEST_CASE("a node's policy is the spec's first unless named", "[sapo]") {
    DefaultLogging logging;
    const auto spec = parse_spec(kSpec).value();
    CHECK(choose_policy(spec, "").name == "tiny");
    CHECK(choose_policy(spec, "wide").name == "wide");
    CHECK_THROWS_WITH(choose_policy(spec, "huge"), Catch::Contains("tiny, wide"));
}

TEST_CASE("the SAPO engine trains, publishes, commits, merges and resumes", "[sapo]") {
    DefaultLogging logging;
    const auto spec = parse_spec(kSpec).value();
    TempDir dir;
    const auto author = peer_name();
    SapoEngineOptions options;
    options.dir = dir.path / "sapo";
    options.round_interval = 0ms;

    asio::io_context io;
    // The engine posts results from its compute thread: keep run_for() waiting for them.
    auto work = asio::make_work_guard(io);
    Run run;
    auto engine = std::make_unique<SapoEngine>(
        spec, choose_policy(spec, ""), author, options, io,
        [&](std::uint64_t round, Bytes batch) {
            run.published.emplace_back(round, std::move(batch));
        },
        [&](const SapoProgress& p) { run.progress.push_back(p); },
        [&](SharedWeights w) {
            run.committed = std::move(w);
            io.stop();
        });
    engine->start();
    // A batch from another node (round 1, rewards it did not lie about) is used as an external
    // group in round 1.
    {
        rl::NodeOptions o;
        o.group_size = 4;
        o.sampler.local = 2;
        o.mix = rl::TaskMix::one_family(rl::Family::add, 0);
        rl::SwarmNode other(
            peer_name(), rl::Policy(rl::PolicyOptions{}.d_model(16).layers(1).heads(2).max_len(24)),
            o, 7);
        auto checked = rl::check_batch(other.generate(1), {});
        REQUIRE(checked);
        engine->receive(std::move(checked.value()));
    }
    engine->begin();
    io.run_for(60s);
    REQUIRE(run.committed);
    CHECK(run.committed->size() == engine->parameter_count());

    REQUIRE(run.published.size() == 3);
    for (std::size_t i = 0; i < run.published.size(); ++i) {
        CHECK(run.published[i].first == i + 1);
        auto checked = rl::check_batch(run.published[i].second, {});
        REQUIRE(checked);
        CHECK(checked.value().author == author);
        CHECK(checked.value().round == i + 1);
        CHECK(checked.value().groups.size() == 2);
        CHECK(checked.value().lied == 0);  // the engine's claimed rewards are the verifier's
    }
    const auto& last = run.progress.back();
    CHECK(last.phase == "committed");
    CHECK(last.round == 3);
    CHECK(last.rollouts == 3 * 2 * 4);
    CHECK(last.external_used == 2);
    CHECK(last.pool.accepted == 2);
    CHECK(last.base_hash.size() == 64);
    CHECK(std::filesystem::exists(options.dir / "base-tiny.pt"));

    // Merging our weights with a copy of themselves gives them back, written with a manifest.
    io.restart();
    std::optional<SapoMergeOutcome> outcome;
    const auto self = crypto::PeerId::parse(author).value();
    const auto other = crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    const auto h = weights_hash("tiny", *run.committed);
    engine->merge({{self, h, run.committed}, {other, h, run.committed}}, [&](SapoMergeOutcome o) {
        outcome = std::move(o);
        io.stop();
    });
    io.run_for(30s);
    REQUIRE(outcome);
    CHECK(outcome->hash == h);
    CHECK(outcome->participants.size() == 2);
    Bytes manifest_bytes;
    REQUIRE_FALSE(read_file(dir.path / "final" / "manifest.json", manifest_bytes, 1 << 16));
    const auto manifest = nlohmann::json::parse(manifest_bytes.begin(), manifest_bytes.end());
    CHECK(manifest["merged_hash"] == hex_encode(h));
    CHECK(manifest["participants"].size() == 2);
    CHECK(manifest["policy"] == "tiny");
    CHECK(std::filesystem::exists(dir.path / "final" / "model.pt"));
    engine->stop();
    const auto base_hash = last.base_hash;
    engine.reset();

    // A restart loads the cached base policy (same hash, no warm-up) and resumes at the merge
    // round, so it commits the same weights at once.
    io.restart();
    Run again;
    engine = std::make_unique<SapoEngine>(
        spec, choose_policy(spec, ""), author, options, io,
        [&](std::uint64_t round, Bytes batch) {
            again.published.emplace_back(round, std::move(batch));
        },
        [&](const SapoProgress& p) { again.progress.push_back(p); },
        [&](SharedWeights w) {
            again.committed = std::move(w);
            io.stop();
        });
    engine->start();
    engine->begin();
    io.run_for(30s);
    REQUIRE(again.committed);
    CHECK(again.published.empty());
    CHECK(again.progress.front().base_hash == base_hash);
    CHECK(weights_hash("tiny", *again.committed) == weights_hash("tiny", *run.committed));
    engine->stop();
}

TEST_CASE(
    "a merge request lowers the merge round, a late engine starts at the swarm's round, "
    "and a fetched base policy is used as it is",
    "[sapo]") {
    DefaultLogging logging;
    auto spec = parse_spec(kSpec).value();
    spec.rounds = 30;
    spec.merge_round = 30;
    TempDir dir;
    SapoEngineOptions options;
    options.dir = dir.path / "sapo";
    options.round_interval = 0ms;
    asio::io_context io;
    auto work = asio::make_work_guard(io);

    // The base policy another node made (a first engine, stopped once it is ready).
    SharedWeights base;
    std::string base_hash;
    {
        SapoEngineOptions other = options;
        other.dir = dir.path / "other";
        SapoEngine maker(
            spec, choose_policy(spec, ""), peer_name(), other, io, [](std::uint64_t, Bytes) {},
            [&](const SapoProgress& p) {
                if (p.base && !base) {  // later reports may still be queued
                    base = p.base;
                    base_hash = p.base_hash;
                    io.stop();
                }
            },
            [](SharedWeights) {});
        maker.start();
        io.run_for(60s);
        maker.stop();
    }
    REQUIRE(base);

    Run run;
    SapoEngine engine(
        spec, choose_policy(spec, ""), peer_name(), options, io,
        [&](std::uint64_t round, Bytes batch) {
            run.published.emplace_back(round, std::move(batch));
        },
        [&](const SapoProgress& p) { run.progress.push_back(p); },
        [&](SharedWeights w) {
            run.committed = std::move(w);
            io.stop();
        });
    CHECK_FALSE(engine.has_cached_base());
    CHECK(engine.merge_round() == 30);
    engine.request_merge(4);
    engine.request_merge(12);  // later than the current request: changes nothing
    engine.request_merge(0);
    engine.set_swarm_floor(3);  // the swarm is at round 3 already
    engine.start(base);
    engine.begin();
    io.restart();
    io.run_for(60s);
    REQUIRE(run.committed);
    CHECK(engine.merge_round() == 4);
    // It trained rounds 3 and 4 only, and committed at the requested round.
    REQUIRE(run.published.size() == 2);
    CHECK(run.published[0].first == 3);
    CHECK(run.published[1].first == 4);
    const auto& last = run.progress.back();
    CHECK(last.phase == "committed");
    CHECK(last.merge_round == 4);
    CHECK(last.start_round == 3);
    CHECK(last.base_source == "fetched");
    CHECK(last.base_hash == base_hash);
    CHECK(engine.has_cached_base());  // cached for the next start
    // A request after the commitment changes nothing: the weights are committed.
    engine.request_merge(2);
    io.restart();
    io.run_for(200ms);
    CHECK(engine.merge_round() == 4);
    engine.stop();
}

TEST_CASE("stopping during the supervised warm-up returns at once and caches nothing", "[sapo]") {
    DefaultLogging logging;
    auto spec = parse_spec(kSpec).value();
    spec.sapo.policies[0].warmup_steps = 1000000;  // hours of warm-up
    TempDir dir;
    SapoEngineOptions options;
    options.dir = dir.path / "sapo";
    asio::io_context io;
    std::vector<SapoProgress> progress;
    SapoEngine engine(
        spec, choose_policy(spec, ""), peer_name(), options, io, [](std::uint64_t, Bytes) {},
        [&](const SapoProgress& p) { progress.push_back(p); }, [](SharedWeights) {});
    engine.start();
    engine.begin();
    std::this_thread::sleep_for(500ms);  // well inside the warm-up
    const auto asked = std::chrono::steady_clock::now();
    engine.stop();
    const auto took = std::chrono::steady_clock::now() - asked;
    CHECK(took < 1s);
    io.poll();
    CHECK(progress.empty());  // never ready
    CHECK_FALSE(engine.has_cached_base());
    CHECK_FALSE(std::filesystem::exists(options.dir / "policy.pt"));
}
