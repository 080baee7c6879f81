// The engine's intake of sync answers: every record is bounds-checked and its author signature
// verified before it reaches the log; what fails is counted per sender.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/ops/logging.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/engine.hpp"
#include "training/author_ticket.hpp"
#include "training/checkpoint.hpp"
#include "training/params.hpp"

using namespace swarmd;
using namespace swarmd::node;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("swarmd_engine_sync_" + std::to_string(::getpid()) +
                                            "_" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the engine takes only verified, in-bounds records from a sync answer",
          "[sync][engine]") {
    setup_logging({});
    TempDir dir;
    Spec spec = default_spec();
    spec.zo.author_work_bits = 10;
    const auto swarm = SwarmId::of(spec);
    const auto topic = zo_topic(swarm);
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io);  // run_for waits for the engine's posts
    ZoEngineOptions options;
    options.dir = dir.path / "zo";
    options.round_interval = std::chrono::hours(1);  // one own step at start, then quiet
    ZoEngine engine(
        spec, swarm, crypto::PrivateKey::generate(), options, io, [](auto) {}, [](const auto&) {});
    std::vector<std::pair<crypto::PeerId, SyncIntake>> reports;
    engine.on_sync_report(
        [&](const crypto::PeerId& peer, const SyncIntake& in) { reports.emplace_back(peer, in); });
    engine.start();

    const auto author_key = crypto::PrivateKey::generate();
    const auto author = crypto::PeerId::from_public_key(author_key.public_key()).bytes();
    const auto impostor = crypto::PrivateKey::generate();
    const auto ticket = training::grind_ticket(swarm.bytes(), author, 10);
    auto signed_update = [&](std::uint64_t round, std::uint32_t index, std::int8_t q) {
        training::Update u{author, round, index, q, ticket};
        return training::SignedUpdate{u, sign_update(author_key, topic, u)};
    };
    const auto sender =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    auto wait_reports = [&](std::size_t n) {
        for (int i = 0; i < 3000 && reports.size() < n; ++i)
            io.run_for(std::chrono::milliseconds(10));
        REQUIRE(reports.size() == n);
    };

    // Two good records, then one whose q was altered after signing: it and the rest of the
    // answer are dropped.
    auto altered = signed_update(4, 0, 9);
    altered.update.q = -9;
    engine.receive_synced(
        {sender,
         {signed_update(1, 0, 5), signed_update(2, 0, 6), altered, signed_update(3, 0, 7)}});
    wait_reports(1);
    CHECK(reports[0].first == sender);
    CHECK(reports[0].second.accepted == 2);
    CHECK(reports[0].second.forged == 1);
    CHECK(reports[0].second.unchecked == 1);
    CHECK(reports[0].second.refused());

    // Another node's signature in this author's name; an out-of-bounds index, round 0 and a
    // ticket short of the spec's work (genuinely signed); an update already held (not
    // verified again, even with another byte).
    auto impersonated = signed_update(5, 0, 1);
    impersonated.signature = sign_update(impostor, topic, impersonated.update);
    auto known = signed_update(1, 0, 100);
    known.signature.bytes.fill(0);
    auto no_work = signed_update(7, 0, 1);
    no_work.update.ticket = ticket + 1;
    while (training::ticket_meets(swarm.bytes(), author, no_work.update.ticket, 10))
        ++no_work.update.ticket;
    no_work.signature = sign_update(author_key, topic, no_work.update);
    engine.receive_synced({sender,
                           {signed_update(6, static_cast<std::uint32_t>(spec.zo.directions), 1),
                            signed_update(0, 0, 1), no_work, known, impersonated}});
    wait_reports(2);
    CHECK(reports[1].second.invalid == 3);
    CHECK(reports[1].second.known == 1);
    CHECK(reports[1].second.forged == 1);
    CHECK(reports[1].second.accepted == 0);

    // What the log now serves for this author: exactly the two verified updates, with their
    // signatures, which verify.
    std::optional<std::vector<training::SignedUpdate>> served;
    engine.updates(0, static_cast<std::uint64_t>(spec.merge_round),
                   [&](auto all) { served = std::move(all); });
    for (int i = 0; i < 3000 && !served; ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(served);
    std::vector<training::SignedUpdate> of_author;
    for (const auto& s : *served) {
        CHECK(verify_update(topic, s));  // the engine's own updates are logged signed too
        if (s.update.author == author) of_author.push_back(s);
    }
    REQUIRE(of_author.size() == 2);
    CHECK(of_author[0] == signed_update(1, 0, 5));
    CHECK(of_author[1] == signed_update(2, 0, 6));
    engine.stop();
}

TEST_CASE("an engine still joining (not started) answers sync requests from its log",
          "[sync][engine]") {
    setup_logging({});
    TempDir dir;
    Spec spec = default_spec();
    spec.zo.author_work_bits = 10;
    const auto swarm = SwarmId::of(spec);
    const auto topic = zo_topic(swarm);
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io);
    ZoEngineOptions options;
    options.dir = dir.path / "zo";
    std::vector<SyncIntake> reports;
    ZoEngine engine(
        spec, swarm, crypto::PrivateKey::generate(), options, io, [](auto) {}, [](const auto&) {});
    engine.on_sync_report(
        [&](const crypto::PeerId&, const SyncIntake& in) { reports.push_back(in); });
    const auto author_key = crypto::PrivateKey::generate();
    const auto author = crypto::PeerId::from_public_key(author_key.public_key()).bytes();
    training::Update u{author, 1, 0, 3, training::grind_ticket(swarm.bytes(), author, 10)};
    engine.receive_synced({crypto::PeerId::from_public_key(author_key.public_key()),
                           {training::SignedUpdate{u, sign_update(author_key, topic, u)}}});
    for (int i = 0; i < 3000 && reports.empty(); ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].accepted == 1);
    // A peer joining at the same time asks this node for its log: the answer comes at once,
    // not after the asker's timeout.
    std::optional<std::vector<training::SignedUpdate>> served;
    engine.updates(0, 10, [&](auto all) { served = std::move(all); });
    for (int i = 0; i < 300 && !served; ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(served);
    REQUIRE(served->size() == 1);
    CHECK(served->front().update == u);
    engine.stop();
}

TEST_CASE("a closed swarm's engine takes no synced record from an author it does not list",
          "[sync][engine][hostile]") {
    setup_logging({});
    TempDir dir;
    auto own = crypto::PrivateKey::generate();
    const auto listed = crypto::PrivateKey::generate();
    const auto sybil = crypto::PrivateKey::generate();
    auto id_of = [](const crypto::PrivateKey& k) {
        return crypto::PeerId::from_public_key(k.public_key());
    };
    const auto own_id = id_of(own);
    auto parsed = parse_spec("trainers = [\"" + own_id.to_base58() + "\", \"" +
                             id_of(listed).to_base58() + "\"]\n[zo]\nauthor_work_bits = 8\n");
    REQUIRE(parsed);
    const Spec spec = parsed.value();
    const auto swarm = SwarmId::of(spec);
    const auto topic = zo_topic(swarm);
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io);
    ZoEngineOptions options;
    options.dir = dir.path / "zo";
    options.round_interval = std::chrono::hours(1);
    ZoEngine engine(
        spec, swarm, std::move(own), options, io, [](auto) {}, [](const auto&) {});
    std::vector<SyncIntake> reports;
    engine.on_sync_report(
        [&](const crypto::PeerId&, const SyncIntake& in) { reports.push_back(in); });
    engine.start();
    auto signed_by = [&](const crypto::PrivateKey& k, std::uint64_t round) {
        const auto author = id_of(k).bytes();
        training::Update u{author, round, 0, 3, training::grind_ticket(swarm.bytes(), author, 8)};
        return training::SignedUpdate{u, sign_update(k, topic, u)};
    };
    // Genuinely signed, in bounds: only the listed author's records get in.
    engine.receive_synced(
        {id_of(sybil), {signed_by(listed, 1), signed_by(sybil, 1), signed_by(sybil, 2)}});
    for (int i = 0; i < 3000 && reports.empty(); ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].accepted == 1);
    CHECK(reports[0].invalid == 2);
    engine.stop();
    io.run_for(std::chrono::milliseconds(50));
}

TEST_CASE("past the author cap the engine takes authors by ticket work, not by peer id order",
          "[sync][engine][hostile]") {
    // The attack: identities ground to sort first by peer id bytes, each with the least work
    // the spec allows, in one sync answer with honest authors that did more work. Past the cap
    // the engine keeps the authors of the lowest ticket hashes, which grinding keys cannot buy.
    setup_logging({});
    TempDir dir;
    Spec spec = default_spec();
    spec.zo.author_work_bits = 6;
    const auto swarm = SwarmId::of(spec);
    const auto topic = zo_topic(swarm);
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io);
    ZoEngineOptions options;
    options.dir = dir.path / "zo";
    options.round_interval = std::chrono::hours(1);
    options.max_sync_authors = 6;
    auto own = crypto::PrivateKey::generate();
    const auto own_id = crypto::PeerId::from_public_key(own.public_key()).bytes();
    ZoEngine engine(
        spec, swarm, std::move(own), options, io, [](auto) {}, [](const auto&) {});
    std::vector<SyncIntake> reports;
    engine.on_sync_report(
        [&](const crypto::PeerId&, const SyncIntake& in) { reports.push_back(in); });
    engine.start();

    struct Author {
        crypto::PrivateKey key;
        Bytes id;
        std::uint64_t ticket = 0;
        crypto::Digest hash{};
    };
    auto make = [&](crypto::PrivateKey key, unsigned bits) {
        Author a{std::move(key), {}, 0, {}};
        a.id = crypto::PeerId::from_public_key(a.key.public_key()).bytes();
        a.ticket = training::grind_ticket(swarm.bytes(), a.id, bits);
        a.hash = training::ticket_hash(swarm.bytes(), a.id, a.ticket);
        return a;
    };
    // Four honest authors with 16 bits of work; the engine's own author has the spec's 6.
    std::vector<Author> honest;
    for (int i = 0; i < 4; ++i) honest.push_back(make(crypto::PrivateKey::generate(), 16));
    // Forty sybils: the lowest peer ids of 400 fresh keys, 6 bits each, and none of them with a
    // ticket better than an honest author's (what grinding keys alone yields, here made certain).
    crypto::Digest worst_honest{};
    for (const auto& h : honest) worst_honest = std::max(worst_honest, h.hash);
    std::vector<Author> pool;
    while (pool.size() < 400) {
        auto a = make(crypto::PrivateKey::generate(), 6);
        if (worst_honest < a.hash) pool.push_back(std::move(a));
    }
    std::sort(pool.begin(), pool.end(),
              [](const Author& a, const Author& b) { return a.id < b.id; });
    pool.erase(pool.begin() + 40, pool.end());
    Bytes highest_sybil = pool.back().id;
    // The attack would work on byte order: every sybil sorts before some honest author.
    std::size_t honest_after_sybils = 0;
    for (const auto& h : honest) honest_after_sybils += highest_sybil < h.id ? 1 : 0;
    REQUIRE(honest_after_sybils > 0);

    auto signed_of = [&](const Author& a, std::uint64_t round) {
        training::Update u{a.id, round, 0, 1, a.ticket};
        return training::SignedUpdate{u, sign_update(a.key, topic, u)};
    };
    std::vector<training::SignedUpdate> answer;
    for (const auto& s : pool) answer.push_back(signed_of(s, 1));
    for (const auto& h : honest) answer.push_back(signed_of(h, 1));
    engine.receive_synced(
        {crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()),
         std::move(answer)});
    for (int i = 0; i < 3000 && reports.empty(); ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(reports.size() == 1);
    // Six places among all the authors the engine knows, its own (it published round 1 at
    // start, with the spec's 6 bits) included, in ticket order: every honest author is in.
    std::vector<training::AuthorRank> order;
    order.push_back({training::ticket_hash(swarm.bytes(), own_id,
                                           training::grind_ticket(swarm.bytes(), own_id, 6)),
                     own_id});
    for (const auto& a : honest) order.push_back({a.hash, a.id});
    for (const auto& a : pool) order.push_back({a.hash, a.id});
    std::sort(order.begin(), order.end());
    std::set<Bytes> expected;
    for (std::size_t i = 0; i < 6; ++i) expected.insert(order[i].author);
    for (const auto& h : honest) CHECK(expected.contains(h.id));
    const std::size_t taken = expected.size() - (expected.contains(own_id) ? 1 : 0);
    CHECK(reports[0].accepted == taken);
    CHECK(reports[0].over_cap == 44 - taken);

    std::optional<std::vector<training::SignedUpdate>> served;
    engine.updates(0, 10, [&](auto all) { served = std::move(all); });
    for (int i = 0; i < 3000 && !served; ++i) io.run_for(std::chrono::milliseconds(10));
    REQUIRE(served);
    std::set<Bytes> held;
    for (const auto& s : *served) held.insert(s.update.author);
    expected.insert(own_id);
    CHECK(held == expected);
    engine.stop();
    io.run_for(std::chrono::milliseconds(50));
}

TEST_CASE(
    "a checkpoint fetched on joining is checked against the replay of its log before it is vouched "
    "for",
    "[sync][engine][hostile]") {
    // The attack: the voters announce a checkpoint whose values are not the replay of the
    // swarm's log. A joiner trains on it at first, announces nothing built on it, fetches the
    // log it claims to be, and replaces it by the replay; an honest checkpoint is kept.
    setup_logging({});
    Spec spec = default_spec();
    spec.zo.author_work_bits = 6;
    const auto swarm = SwarmId::of(spec);
    const auto topic = zo_topic(swarm);
    constexpr std::uint64_t kThrough = 20;

    // The swarm's log through round 20: three authors, one update a round each.
    std::vector<training::SignedUpdate> prefix;
    for (int a = 0; a < 3; ++a) {
        const auto key = crypto::PrivateKey::generate();
        const auto id = crypto::PeerId::from_public_key(key.public_key()).bytes();
        const auto ticket = training::grind_ticket(swarm.bytes(), id, 6);
        for (std::uint64_t r = 1; r <= kThrough; ++r) {
            training::Update u{
                id, r, 0,
                static_cast<std::int8_t>(
                    static_cast<int>((r * 7 + static_cast<std::uint64_t>(a)) % 5) - 2),
                ticket};
            prefix.push_back({u, sign_update(key, topic, u)});
        }
    }
    const auto sender =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());

    struct Joiner {
        TempDir dir;
        boost::asio::io_context io;
        std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
            busy;
        std::optional<ZoEngine> engine;
        std::optional<ZoProgress> progress;
        std::vector<std::uint64_t> prefix_wanted;
    };
    auto make = [&](Joiner& j) {
        j.busy.emplace(j.io.get_executor());
        ZoEngineOptions options;
        options.dir = j.dir.path / "zo";
        options.round_interval = std::chrono::hours(1);
        j.engine.emplace(
            spec, swarm, crypto::PrivateKey::generate(), options, j.io, [](auto) {},
            [&j](const ZoProgress& p) { j.progress = p; });
        j.engine->on_prefix_wanted(
            [&j](std::uint64_t through) { j.prefix_wanted.push_back(through); });
    };
    auto settle = [](Joiner& j, const std::function<bool()>& done) {
        for (int i = 0; i < 3000 && !done(); ++i) j.io.run_for(std::chrono::milliseconds(10));
        REQUIRE(done());
    };
    auto checkpoint_of = [&](Joiner& j) {
        std::optional<CheckpointSlice> slice;
        j.engine->checkpoint_slice(kThrough, 0, j.engine->parameter_count(),
                                   [&](auto s) { slice = std::move(s); });
        settle(j, [&] { return slice.has_value(); });
        return training::Checkpoint{kThrough, slice->update_count, slice->model_hash,
                                    slice->values};
    };

    // A forged checkpoint with the right shape and count: refuted once its log is in, and the
    // joiner then holds (and announces) the log's replay instead.
    Joiner forged_join;
    make(forged_join);
    std::vector<float> bogus(forged_join.engine->parameter_count(), 0.5f);
    const training::Checkpoint forged{kThrough, prefix.size(), training::model_hash(bogus), bogus};
    forged_join.engine->catch_up({forged, {{sender, prefix}}, kThrough + 10});
    forged_join.engine->start();
    settle(forged_join,
           [&] { return forged_join.progress && forged_join.progress->joins_refuted == 1; });
    CHECK(forged_join.progress->joins_verified == 0);
    CHECK_FALSE(forged_join.progress->join_unchecked);
    REQUIRE(forged_join.progress->checkpoints.size() == 1);
    CHECK(forged_join.progress->checkpoints[0].first == kThrough);
    CHECK(forged_join.progress->checkpoints[0].second != forged.model_hash);
    const auto honest = checkpoint_of(forged_join);
    CHECK(honest.model_hash == forged_join.progress->checkpoints[0].second);
    CHECK(honest.update_count == prefix.size());

    // The honest checkpoint, with its log fetched at once: verified.
    Joiner with_log;
    make(with_log);
    with_log.engine->catch_up({honest, {{sender, prefix}}, kThrough + 10});
    with_log.engine->start();
    settle(with_log, [&] { return with_log.progress && with_log.progress->joins_verified == 1; });
    CHECK(with_log.progress->joins_refuted == 0);
    CHECK(with_log.prefix_wanted.empty());

    // The honest checkpoint alone: trained on, not announced, its log asked for; verified and
    // announced once the log arrives.
    Joiner alone;
    make(alone);
    alone.engine->catch_up({honest, {}, kThrough + 10});
    alone.engine->start();
    settle(alone, [&] { return alone.progress && alone.progress->join_unchecked; });
    CHECK(alone.progress->checkpoints.empty());
    settle(alone, [&] { return !alone.prefix_wanted.empty(); });
    CHECK(alone.prefix_wanted == std::vector<std::uint64_t>{kThrough});
    alone.engine->receive_synced({sender, prefix});
    settle(alone, [&] { return alone.progress->joins_verified == 1; });
    CHECK_FALSE(alone.progress->join_unchecked);
    REQUIRE_FALSE(alone.progress->checkpoints.empty());
    CHECK(alone.progress->checkpoints.front() == std::pair{kThrough, honest.model_hash});

    for (auto* j : {&forged_join, &with_log, &alone}) {
        j->engine->stop();
        j->io.run_for(std::chrono::milliseconds(50));
    }
}
