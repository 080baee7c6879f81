// Task suite, wire codec, pool and sampler: no torch involved.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "rl/error.hpp"
#include "rl/log.hpp"
#include "rl/rollouts.pb.h"
#include "rl/sampler.hpp"
#include "rl/tasks.hpp"
#include "rl/vocab.hpp"
#include "rl/wire.hpp"

using namespace swarmd;
using namespace swarmd::rl;

namespace {

Rollout completion(const std::string& text, float claimed, bool eos = true) {
    Rollout r;
    r.tokens = encode_text(text).value();
    if (eos) r.tokens.push_back(kEosToken);
    r.logprobs.assign(r.tokens.size(), -0.5f);
    r.claimed_reward = claimed;
    return r;
}

// A group on `task` with `right` correct completions out of `g`, claiming honest rewards.
RolloutGroup group_with(const TaskId& task, int right, int g = 4) {
    const Problem p = generate(task).value();
    RolloutGroup group{task, {}};
    const std::string wrong = p.answer + "1";
    for (int i = 0; i < g; ++i) {
        group.completions.push_back(i < right ? completion(p.answer, 1.0f)
                                              : completion(wrong, 0.0f));
    }
    return group;
}

RolloutBatch batch_of(const std::string& author, std::uint64_t round,
                      std::vector<RolloutGroup> groups) {
    return RolloutBatch{author, round, std::move(groups)};
}

}  // namespace

TEST_CASE("every family's generator is deterministic and its verifier is exact", "[rl][tasks]") {
    for (Family f : kAllFamilies) {
        for (std::uint8_t level = 0; level < kLevelCount; ++level) {
            std::set<std::string> prompts;
            for (std::uint64_t seed = 0; seed < 200; ++seed) {
                const TaskId task{f, level, seed};
                const Problem a = generate(task).value();
                const Problem b = generate(task).value();
                CHECK(a.prompt == b.prompt);
                CHECK(a.answer == b.answer);
                REQUIRE(encode_text(a.prompt).has_value());
                REQUIRE(encode_text(a.answer).has_value());
                CHECK(verify(a, a.answer) == 1.0f);
                CHECK(verify(a, a.answer + "0") == 0.0f);
                CHECK(verify(a, "") == 0.0f);
                Rng rng(seed);
                const std::string wrong = corrupt_answer(task, a, rng);
                CHECK(wrong != a.answer);
                CHECK(verify(a, wrong) == 0.0f);
                prompts.insert(a.prompt);
            }
            // Seeds give different questions (the smallest level of some families has few).
            CHECK(prompts.size() >= 20);
        }
    }
}

TEST_CASE("answers are what the family says", "[rl][tasks]") {
    // Checked against independent recomputation from the prompt text.
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
        const Problem add = generate({Family::add, 3, seed}).value();
        const auto plus = add.prompt.find('+');
        CHECK(std::stoll(add.prompt.substr(0, plus)) + std::stoll(add.prompt.substr(plus + 1)) ==
              std::stoll(add.answer));
        const Problem mul = generate({Family::mul, 3, seed}).value();
        const auto star = mul.prompt.find('*');
        CHECK(std::stoll(mul.prompt.substr(0, star)) * std::stoll(mul.prompt.substr(star + 1)) ==
              std::stoll(mul.answer));
        const Problem rev = generate({Family::reverse, 2, seed}).value();
        std::string s = rev.prompt.substr(2, rev.prompt.size() - 3);
        CHECK(std::string(s.rbegin(), s.rend()) == rev.answer);
        const Problem srt = generate({Family::sort, 3, seed}).value();
        CHECK(std::is_sorted(srt.answer.begin(), srt.answer.end()));
        CHECK(srt.answer.size() == 8);
        const Problem alg = generate({Family::algebra, 3, seed}).value();
        // a*x+b=c;x= : substitute the answer back.
        const auto a = std::stoll(alg.prompt.substr(0, alg.prompt.find('*')));
        const auto b = std::stoll(alg.prompt.substr(alg.prompt.find('+') + 1));
        const auto c = std::stoll(alg.prompt.substr(alg.prompt.find('=') + 1));
        CHECK(a * std::stoll(alg.answer) + b == c);
        const Problem cnt = generate({Family::count, 3, seed}).value();
        const char target = cnt.prompt[1];
        const std::string body = cnt.prompt.substr(3, cnt.prompt.size() - 4);
        CHECK(std::to_string(std::count(body.begin(), body.end(), target)) == cnt.answer);
    }
    CHECK(generate({Family::compose, 0, 1}).value().prompt.front() == '(');
}

TEST_CASE("out-of-range tasks are errors", "[rl][tasks]") {
    CHECK(generate({Family::add, kLevelCount, 0}).error() == Errc::bad_level);
    CHECK(generate({static_cast<Family>(kFamilyCount), 0, 0}).error() == Errc::unknown_family);
    CHECK(parse_family("sort").value() == Family::sort);
    CHECK(parse_family("nope").error() == Errc::unknown_family);
    for (Family f : kAllFamilies) CHECK(parse_family(family_name(f)).value() == f);
}

TEST_CASE("vocabulary round-trips task text and rejects other characters", "[rl][vocab]") {
    auto t = encode_text("(12+3)*4=x;").value();
    t.push_back(kEosToken);
    t.push_back(char_token('9'));  // after EOS: ignored
    CHECK(decode_text(t) == "(12+3)*4=x;");
    CHECK(encode_text("A").error() == Errc::text_not_in_vocabulary);
    CHECK(encode_text(" ").error() == Errc::text_not_in_vocabulary);
}

TEST_CASE("task and rollout batch round-trip through the wire form", "[rl][wire]") {
    const TaskId task{Family::compose, 3, 0xdeadbeefcafef00dULL};
    CHECK(decode_task(encode_task(task)).value() == task);

    RolloutBatch batch =
        batch_of("node-a", 17,
                 {group_with({Family::add, 1, 5}, 2), group_with({Family::reverse, 2, 9}, 0, 8)});
    batch.groups[1].completions[3].tokens = encode_text("abc").value();  // hit the length cap
    batch.groups[1].completions[3].logprobs = {-1.0f, -2.0f, -0.25f};
    const Bytes bytes = encode_batch(batch);
    const RolloutBatch back = decode_batch(bytes).value();
    CHECK(back.author == "node-a");
    CHECK(back.round == 17);
    REQUIRE(back.groups.size() == 2);
    for (std::size_t g = 0; g < 2; ++g) {
        CHECK(back.groups[g].task == batch.groups[g].task);
        REQUIRE(back.groups[g].completions.size() == batch.groups[g].completions.size());
        for (std::size_t i = 0; i < back.groups[g].completions.size(); ++i) {
            const auto& x = back.groups[g].completions[i];
            const auto& y = batch.groups[g].completions[i];
            CHECK(x.tokens == y.tokens);
            CHECK(x.logprobs == y.logprobs);
            CHECK(x.claimed_reward == y.claimed_reward);
        }
    }
}

TEST_CASE("the decoder rejects hostile batches with a clear error", "[rl][wire]") {
    const RolloutBatch good = batch_of("n", 1, {group_with({Family::add, 0, 1}, 1)});

    SECTION("every truncation of a valid batch is an error or a valid prefix, never a crash") {
        const Bytes bytes = encode_batch(good);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            auto r = decode_batch(ByteSpan(bytes.data(), n));
            if (r) CHECK(r.value().groups.size() <= 1);
        }
    }
    SECTION("random garbage") {
        Rng rng(7);
        for (int trial = 0; trial < 2000; ++trial) {
            Bytes junk(rng.below(300));
            for (auto& b : junk) b = static_cast<std::uint8_t>(rng.next());
            auto r = decode_batch(junk);  // must return, whatever it says
            if (r) CHECK_FALSE(r.value().author.empty());
        }
    }
    SECTION("size cap is checked before parsing") {
        WireLimits limits;
        limits.max_bytes = 16;
        CHECK(decode_batch(encode_batch(good), limits).error() == Errc::batch_too_large);
    }
    SECTION("field checks") {
        auto expect = [](RolloutBatch b, Errc e) {
            CHECK(decode_batch(encode_batch(b)).error() == e);
        };
        RolloutBatch b = good;
        b.author.clear();
        expect(b, Errc::bad_author);
        b = good;
        b.groups[0].completions.resize(1);
        expect(b, Errc::too_many_completions);
        b = good;
        b.groups[0].completions[0].tokens.insert(b.groups[0].completions[0].tokens.begin(),
                                                 kEosToken);
        b.groups[0].completions[0].logprobs.push_back(-1.0f);
        expect(b, Errc::bad_token);  // EOS not last
        b = good;
        b.groups[0].completions[0].tokens[0] = kVocabSize;
        expect(b, Errc::bad_token);
        b = good;
        b.groups[0].completions[0].tokens[0] = kBosToken;
        expect(b, Errc::bad_token);
        b = good;
        b.groups[0].completions[0].logprobs.pop_back();
        expect(b, Errc::logprob_count_mismatch);
        b = good;
        b.groups[0].completions[0].logprobs[0] = 0.5f;
        expect(b, Errc::bad_logprob);
        b = good;
        b.groups[0].completions[0].logprobs[0] = std::numeric_limits<float>::quiet_NaN();
        expect(b, Errc::bad_logprob);
        b = good;
        b.groups[0].completions[0].claimed_reward = std::numeric_limits<float>::infinity();
        expect(b, Errc::bad_reward);
        b = good;
        b.groups[0].completions[0].tokens.assign(WireLimits::kDefaultMaxTokens + 1,
                                                 char_token('1'));
        b.groups[0].completions[0].logprobs.assign(WireLimits::kDefaultMaxTokens + 1, -1.0f);
        expect(b, Errc::completion_too_long);
        b = good;
        b.groups.assign(WireLimits::kDefaultMaxGroups + 1, good.groups[0]);
        expect(b, Errc::too_many_groups);
    }
    SECTION("task fields out of range") {
        wire::RolloutBatch msg;
        msg.set_author("x");
        auto* g = msg.add_groups();
        g->mutable_task()->set_family(kFamilyCount);
        for (int i = 0; i < 2; ++i) {
            auto* c = g->add_completions();
            c->set_tokens(std::string(1, static_cast<char>(kEosToken)));
            c->add_logprobs(-1.0f);
        }
        std::string s = msg.SerializeAsString();
        CHECK(decode_batch(as_bytes(s)).error() == Errc::unknown_family);
        g->mutable_task()->set_family(0);
        g->mutable_task()->set_level(kLevelCount);
        s = msg.SerializeAsString();
        CHECK(decode_batch(as_bytes(s)).error() == Errc::bad_level);
        g->clear_task();
        s = msg.SerializeAsString();
        CHECK(decode_batch(as_bytes(s)).error() == Errc::malformed_batch);
        CHECK(decode_task(as_bytes(std::string("\xff\xff", 2))).has_error());
    }
}

TEST_CASE("the pool recomputes rewards and drops stale, duplicate, own and lying groups",
          "[rl][pool]") {
    RolloutPool pool("me");
    pool.set_round(5);
    const RolloutGroup honest = group_with({Family::sort, 1, 3}, 1);
    CHECK(pool.add_batch(encode_batch(batch_of("a", 5, {honest}))).value() == 1);
    REQUIRE(pool.groups().size() == 1);
    CHECK(pool.groups()[0].rewards == std::vector<float>{1, 0, 0, 0});
    CHECK(pool.groups()[0].external);
    CHECK(pool.groups()[0].prompt == generate(honest.task).value().prompt);

    CHECK(pool.add_batch(encode_batch(batch_of("a", 5, {honest}))).value() == 0);
    CHECK(pool.stats().duplicate == 1);
    CHECK(pool.add_batch(encode_batch(batch_of("b", 5, {honest}))).value() == 1);  // other author
    CHECK(pool.add_batch(encode_batch(batch_of("me", 5, {honest}))).value() == 0);
    CHECK(pool.stats().own == 1);
    CHECK(pool.add_batch(encode_batch(batch_of("c", 3, {honest}))).value() == 0);  // too old
    CHECK(pool.add_batch(encode_batch(batch_of("c", 6, {honest}))).value() == 0);  // future
    CHECK(pool.stats().stale == 2);
    CHECK(pool.add_batch(encode_batch(batch_of("c", 4, {honest}))).value() == 1);  // window 1

    RolloutGroup lying = group_with({Family::mul, 2, 8}, 0);
    lying.completions[0].claimed_reward = 1.0f;  // claims a success it does not have
    CHECK(pool.add_batch(encode_batch(batch_of("d", 5, {lying}))).value() == 0);
    CHECK(pool.stats().lied == 1);

    Bytes junk = {0xff, 0x01, 0x02};
    CHECK(pool.add_batch(junk).has_error());
    CHECK(pool.stats().malformed == 1);

    pool.set_round(6);  // round 4 falls out of the window
    CHECK(pool.groups().size() == 2);
    pool.set_round(7);
    CHECK(pool.groups().empty());

    // With mismatch dropping off, a lying group is kept but scored by the receiver.
    PoolOptions lenient;
    lenient.drop_on_claim_mismatch = false;
    RolloutPool p2("me", lenient);
    p2.set_round(5);
    CHECK(p2.add_batch(encode_batch(batch_of("d", 5, {lying}))).value() == 1);
    CHECK(p2.groups()[0].rewards == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("the sampler honours J and its selection strategy", "[rl][sampler]") {
    std::vector<ScoredGroup> pool;
    // 12 groups: 4 without variance (all wrong), then successes 1, 2, 3 of 4 from three authors.
    for (int i = 0; i < 12; ++i) {
        const int right = i < 4 ? 0 : 1 + (i % 3);
        const std::string author = "p" + std::to_string(i % 3);
        pool.push_back(
            score_group(group_with({Family::add, 1, std::uint64_t(i)}, right), author, 1).value());
    }
    SamplerOptions o;
    Rng rng(3);
    o.external = 4;
    o.selection = Selection::uniform;
    CHECK(select_external(pool, o, rng).size() == 4);
    o.external = 50;
    CHECK(select_external(pool, o, rng).size() == pool.size());
    o.external = 0;
    CHECK(select_external(pool, o, rng).empty());

    o.external = 8;
    o.selection = Selection::variance_first;
    for (std::size_t i : select_external(pool, o, rng)) CHECK(pool[i].has_variance());
    o.external = 10;  // more than the 8 with variance: the rest fill up
    CHECK(select_external(pool, o, rng).size() == 10);

    o.external = 3;  // two groups with 1 success of 4, then one with 2
    o.selection = Selection::rare_success;
    std::vector<float> means;
    for (std::size_t i : select_external(pool, o, rng)) means.push_back(pool[i].mean_reward());
    CHECK(means == std::vector<float>{0.25f, 0.25f, 0.5f});

    o.external = 4;  // the three groups split 2 of 4, then one split 1:3 or 3:1
    o.selection = Selection::most_signal;
    means.clear();
    for (std::size_t i : select_external(pool, o, rng)) means.push_back(pool[i].mean_reward());
    REQUIRE(means.size() == 4);
    CHECK(std::vector<float>(means.begin(), means.begin() + 3) == std::vector<float>(3, 0.5f));
    CHECK((means[3] == 0.25f || means[3] == 0.75f));

    o.external = 12;
    o.selection = Selection::uniform;
    o.max_per_author = 2;
    const auto picked = select_external(pool, o, rng);
    CHECK(picked.size() == 6);
    std::map<std::string, int> per;
    for (std::size_t i : picked) ++per[pool[i].author];
    for (auto& [a, n] : per) CHECK(n == 2);

    // Uniform is really uniform-ish: every group gets picked sometimes.
    o.max_per_author = 0;
    o.external = 2;
    std::vector<int> hits(pool.size());
    for (int t = 0; t < 600; ++t) {
        for (std::size_t i : select_external(pool, o, rng)) ++hits[i];
    }
    for (int h : hits) CHECK(h > 50);
}

TEST_CASE("the rl logger names every rejected batch and why, at debug level", "[rl][log]") {
    std::ostringstream out;
    auto& log = rl_log();
    CHECK(log.name() == "rl");
    const auto saved_sinks = log.sinks();
    const auto saved_level = log.level();
    log.sinks().assign(1, std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    log.set_level(spdlog::level::debug);

    RolloutPool pool("me");
    pool.set_round(5);
    Bytes junk = {0xff, 0x01, 0x02};
    (void)pool.add_batch(junk);
    const RolloutGroup honest = group_with({Family::sort, 1, 3}, 1);
    (void)pool.add_batch(encode_batch(batch_of("old\x01peer", 2, {honest})));
    RolloutGroup lying = group_with({Family::mul, 2, 8}, 0);
    lying.completions[0].claimed_reward = 1.0f;
    (void)pool.add_batch(encode_batch(batch_of("liar", 5, {honest, lying})));
    (void)pool.add_batch(encode_batch(batch_of("liar", 5, {honest})));

    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    log.sinks() = saved_sinks;
    log.set_level(saved_level);

    REQUIRE(lines.size() == 4);
    CHECK(lines[0].find("[rl]") != std::string::npos);
    CHECK(lines[0].find("rollout batch rejected reason=rollout batch is not a valid protobuf "
                        "message bytes=3") != std::string::npos);
    // A peer chooses its author bytes: control characters never reach the log raw.
    CHECK(lines[1].find("reason=stale round=2 current=5 window=1 author=old\\x01peer") !=
          std::string::npos);
    CHECK(lines[2].find("author=liar round=5 duplicate=0 claimed_rewards_wrong=1 "
                        "accepted=1 of 2") != std::string::npos);
    CHECK(lines[3].find("duplicate=1") != std::string::npos);

    // At the default level nothing a peer sends reaches the log.
    std::ostringstream quiet;
    log.sinks().assign(1, std::make_shared<spdlog::sinks::ostream_sink_st>(quiet));
    log.set_level(spdlog::level::info);
    (void)pool.add_batch(junk);
    log.sinks() = saved_sinks;
    log.set_level(saved_level);
    CHECK(quiet.str().empty());
}
