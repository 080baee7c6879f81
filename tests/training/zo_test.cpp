#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "common.hpp"
#include "training/models.hpp"
#include "training/params.hpp"
#include "training/zo.hpp"

using namespace swarmd;
using namespace swarmd::training;
using namespace swarmd::training::test;

namespace {

const Bytes kSwarm{0x73, 0x77, 0x61, 0x72, 0x6d};
const Bytes kAuthor{0x12, 0x20, 0xaa, 0xbb};

MlpOptions small_mlp() {
    MlpOptions o;
    o.hidden = {32};
    return o;
}

std::vector<Update> random_updates(std::size_t n, std::mt19937_64& rng) {
    std::vector<Update> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back({Bytes{static_cast<std::uint8_t>(rng() % 5)}, rng() % 4,
                       static_cast<std::uint32_t>(i), static_cast<std::int8_t>(rng() % 255 - 127)});
    }
    return out;
}

}  // namespace

TEST_CASE("initialisation is a pure function of swarm id and seed", "[zo]") {
    auto task = make_digits_mlp(digits(), small_mlp());
    const auto a = init_params(task->layout(), kSwarm, 1);
    CHECK(model_hash(a) == model_hash(init_params(task->layout(), kSwarm, 1)));
    CHECK(model_hash(a) != model_hash(init_params(task->layout(), kSwarm, 2)));
    CHECK(a.size() == 64 * 32 + 32 + 32 * 10 + 10);
    // Biases start at zero, weights do not.
    const auto& bias = task->layout().tensors()[1];
    CHECK(std::all_of(a.begin() + bias.offset, a.begin() + bias.offset + bias.size,
                      [](float x) { return x == 0.0f; }));
}

TEST_CASE("evaluating perturbed losses never writes theta", "[zo]") {
    auto task = make_digits_mlp(digits(), small_mlp());
    const auto theta = init_params(task->layout(), kSwarm, 1);
    const auto before = theta;
    const auto batch = all_indices(64);
    for (auto dist : {ZDist::rademacher, ZDist::gaussian}) {
        ZoOptions o;
        o.dist = dist;
        o.directions = 3;
        const auto step = zo_step(*task, theta, kSwarm, kAuthor, 7, batch, o);
        REQUIRE(step.updates.size() == 3);
        // The perturbation is really applied: L+ and L- differ.
        CHECK(std::all_of(step.projected.begin(), step.projected.end(),
                          [](double g) { return g != 0.0; }));
    }
    CHECK(std::memcmp(before.data(), theta.data(), theta.size() * sizeof(float)) == 0);
    CHECK(model_hash(before) == model_hash(theta));
    // An unperturbed loss equals itself before and after perturbed evaluations.
    const double l0 = task->loss(theta, batch);
    ZoOptions o;
    (void)zo_step(*task, theta, kSwarm, kAuthor, 8, batch, o);
    CHECK(task->loss(theta, batch) == l0);
}

TEST_CASE("one-byte codec: stochastic rounding is unbiased and clipping is bounded",
          "[zo][codec]") {
    constexpr float kScale = 0.02f;
    // Fixed gradients, many independent rounding streams.
    for (double g : {0.0, 0.013, -0.5171, 1.2345, 2.53}) {
        double sum = 0.0, sum2 = 0.0, max_err = 0.0;
        int clipped = 0;
        constexpr int kN = 4000;
        for (int r = 0; r < kN; ++r) {
            const auto q = quantize(g, kScale, rounding_uniform(kSwarm, kAuthor, r, 0));
            clipped += q.clipped ? 1 : 0;
            const double d = kScale * q.q - g;
            max_err = std::max(max_err, std::abs(d));
            sum += d;
            sum2 += d * d;
        }
        CHECK(clipped == 0);
        CHECK(max_err < kScale);
        // Bias within 4 standard errors (error variance <= scale^2 / 4).
        CHECK(std::abs(sum / kN) < 4 * kScale / 2 / std::sqrt(kN));
        CHECK(sum2 / kN <= kScale * kScale / 4 + 1e-12);
    }
    CHECK(quantize(10.0, kScale, 0.5).q == 127);
    CHECK(quantize(10.0, kScale, 0.5).clipped);
    CHECK(quantize(-10.0, kScale, 0.0).q == -127);
    CHECK(quantize(std::nan(""), kScale, 0.3).q == 0);
}

TEST_CASE("one-byte codec against fp32 projected gradients of real ZO steps", "[zo][codec]") {
    auto task = make_digits_mlp(digits(), small_mlp());
    auto theta = init_params(task->layout(), kSwarm, 3);
    ZoOptions o;
    o.lr = 1e-2f;
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    std::mt19937_64 rng(11);
    const auto pool = all_indices(task->train_size());
    double bias = 0.0, var = 0.0, g2 = 0.0;
    std::uint32_t clipped = 0;
    constexpr int kSteps = 300;
    for (int r = 0; r < kSteps; ++r) {
        const auto s = zo_step(*task, theta, kSwarm, kAuthor, r, sample_batch(rng, pool, 64), o);
        g2 += s.projected[0] * s.projected[0];
        clipped += s.clipped;
        if (s.clipped == 0) {  // clipping error is counted apart from rounding error
            const double d = o.scale * s.updates[0].q - s.projected[0];
            bias += d;
            var += d * d;
        }
        apply_updates(theta, s.updates, rule);
    }
    bias /= kSteps - clipped;
    var /= kSteps - clipped;
    std::printf(
        "codec vs fp32 g over %d ZO steps: bias %.2e, error variance %.2e "
        "(scale^2/4 = %.2e), E[g^2] = %.3f, clipped %u\n",
        kSteps, bias, var, o.scale * o.scale / 4, g2 / kSteps, clipped);
    CHECK(clipped <= kSteps / 100);
    CHECK(std::abs(bias) < 4 * o.scale / 2 / std::sqrt(double(kSteps)));
    CHECK(var <= o.scale * o.scale / 4 + 1e-12);
    CHECK(var < 0.01 * g2 / kSteps);  // rounding noise is tiny next to g itself
}

TEST_CASE("fused application equals separate passes bit for bit", "[zo][apply]") {
    std::mt19937_64 rng(3);
    const auto updates = random_updates(9, rng);
    for (auto dist : {ZDist::rademacher, ZDist::gaussian}) {
        const ApplyRule rule{kSwarm, dist, 1e-3f, 0.02f};
        std::vector<float> base(10007);
        for (auto& x : base) x = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 997.0f;
        auto fused = base, fused_odd_block = base, separate = base;
        apply_updates(fused, updates, rule);
        apply_updates(fused_odd_block, updates, rule, 333);
        apply_updates_separately(separate, updates, rule);
        CHECK(model_hash(fused) == model_hash(separate));
        CHECK(model_hash(fused_odd_block) == model_hash(separate));
        CHECK(model_hash(fused) != model_hash(base));
    }
}

TEST_CASE("canonical replay is independent of arrival order", "[zo][replay]") {
    std::mt19937_64 rng(4);
    auto updates = random_updates(40, rng);
    const ApplyRule rule{kSwarm, ZDist::gaussian, 1e-2f, 0.02f};
    std::vector<float> init(3000, 0.25f);
    auto a = init, b = init, live = init;
    replay(a, updates, rule);
    std::shuffle(updates.begin(), updates.end(), rng);
    replay(b, updates, rule);
    CHECK(model_hash(a) == model_hash(b));
    // Live application one update at a time, in canonical order, equals the replay.
    sort_canonical(updates);
    for (const auto& u : updates) apply_updates(live, {&u, 1}, rule);
    CHECK(model_hash(live) == model_hash(a));
    // Non-canonical live order generally differs in the last bits: why replay exists.
    std::reverse(updates.begin(), updates.end());
    auto reversed = init;
    for (const auto& u : updates) apply_updates(reversed, {&u, 1}, rule);
    CHECK(reversed.size() == a.size());
}

TEST_CASE("ZO training of the digits MLP lowers the loss and beats chance", "[zo][train]") {
    for (auto dist : {ZDist::rademacher, ZDist::gaussian}) {
        auto task = make_digits_mlp(digits(), small_mlp());
        auto theta = init_params(task->layout(), kSwarm, 1);
        ZoOptions o;
        o.lr = 1e-2f;
        o.dist = dist;
        const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
        const auto before = task->evaluate(theta);
        std::mt19937_64 rng(1);
        const auto pool = all_indices(task->train_size());
        constexpr int kRounds = 800;
        for (int r = 0; r < kRounds; ++r) {
            const auto s =
                zo_step(*task, theta, kSwarm, kAuthor, r, sample_batch(rng, pool, o.batch), o);
            apply_updates(theta, s.updates, rule);
        }
        const auto after = task->evaluate(theta);
        std::printf(
            "digits MLP 64-32-10, %s z, %d ZO steps: test loss %.3f -> %.3f, "
            "accuracy %.3f -> %.3f\n",
            dist == ZDist::rademacher ? "Rademacher" : "Gaussian", kRounds, before.loss, after.loss,
            before.accuracy, after.accuracy);
        CHECK(after.loss < before.loss - 0.5);
        CHECK(after.accuracy > 0.5);  // chance is 0.1
    }
}

TEST_CASE("n-SPSA publishes one update per direction", "[zo][train]") {
    auto task = make_digits_mlp(digits(), small_mlp());
    auto theta = init_params(task->layout(), kSwarm, 1);
    ZoOptions o;
    o.directions = 4;
    o.lr = 5e-3f;
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    const auto before = task->evaluate(theta);
    std::mt19937_64 rng(2);
    const auto pool = all_indices(task->train_size());
    for (int r = 0; r < 200; ++r) {
        const auto s = zo_step(*task, theta, kSwarm, kAuthor, r, sample_batch(rng, pool, 64), o);
        REQUIRE(s.updates.size() == 4);
        for (std::uint32_t i = 0; i < 4; ++i) REQUIRE(s.updates[i].index == i);
        apply_updates(theta, s.updates, rule);
    }
    CHECK(task->evaluate(theta).loss < before.loss - 0.3);
}

TEST_CASE("character LM: ZO lowers held-out loss and perplexity is reported", "[zo][lm]") {
    const auto text = load_text_dir(kLicenseDir, 200000);
    REQUIRE(text.has_value());
    CharLmOptions lo;
    lo.context = 8;
    lo.embed = 8;
    lo.hidden = 32;
    lo.max_eval = 1024;
    auto task = make_char_lm(text.value(), lo);
    auto theta = init_params(task->layout(), kSwarm, 1);
    const auto before = task->evaluate(theta);
    CHECK(before.perplexity == Approx(std::exp(before.loss)));
    CHECK(before.loss == Approx(std::log(double(kCharVocab))).margin(0.3));
    ZoOptions o;
    o.lr = 5e-3f;  // ZO on this model drifts and diverges above ~1e-2
    const ApplyRule rule{kSwarm, o.dist, o.lr, o.scale};
    std::mt19937_64 rng(3);
    const auto pool = all_indices(task->train_size());
    const auto frozen = theta;
    constexpr int kZoSteps = 1000;
    for (int r = 0; r < kZoSteps; ++r) {
        const auto s = zo_step(*task, theta, kSwarm, kAuthor, r, sample_batch(rng, pool, 64), o);
        apply_updates(theta, s.updates, rule);
    }
    const auto after = task->evaluate(theta);
    // Backprop on the same model, for scale.
    auto bp = frozen;
    for (int r = 0; r < 300; ++r) task->backprop_step(bp, sample_batch(rng, pool, 64), 0.5f);
    const auto bp_after = task->evaluate(bp);
    std::printf(
        "char LM (%zu params): held-out loss %.3f (ppl %.1f) -> ZO %d steps %.3f "
        "(ppl %.1f); backprop 300 steps %.3f (ppl %.1f)\n",
        theta.size(), before.loss, before.perplexity, kZoSteps, after.loss, after.perplexity,
        bp_after.loss, bp_after.perplexity);
    CHECK(after.loss < before.loss - 0.4);
    CHECK(bp_after.loss < before.loss - 0.5);
}
