#include "training/zo.hpp"

#include <algorithm>
#include <cmath>

#include "training/models.hpp"

namespace swarmd::training {

std::strong_ordering operator<=>(const Update& a, const Update& b) noexcept {
    if (auto c = a.round <=> b.round; c != 0) return c;
    if (auto c = std::lexicographical_compare_three_way(a.author.begin(), a.author.end(),
                                                        b.author.begin(), b.author.end());
        c != 0) {
        return c;
    }
    if (auto c = a.index <=> b.index; c != 0) return c;
    return a.q <=> b.q;
}

void sort_canonical(std::vector<Update>& updates) { std::sort(updates.begin(), updates.end()); }

crypto::PerturbationStream direction_stream(ByteSpan swarm_id, const Update& u) {
    return crypto::PerturbationStream(crypto::derive_stream_key(
        crypto::StreamDomain::perturbation, swarm_id, u.author, u.round, u.index));
}

void fill_direction(const crypto::PerturbationStream& s, ZDist dist, std::uint64_t offset,
                    std::span<float> out) {
    if (dist == ZDist::rademacher) {
        s.rademacher(offset, out);
    } else {
        s.gaussian(offset, out);
    }
}

Quantized quantize(double g, float scale, double u) noexcept {
    const double x = std::floor(g / static_cast<double>(scale) + u);
    if (std::isnan(x)) return {0, true};  // a broken loss must not move anyone's model
    if (x < -127.0) return {-127, true};
    if (x > 127.0) return {127, true};
    return {static_cast<std::int8_t>(x), false};
}

double rounding_uniform(ByteSpan swarm_id, ByteSpan author, std::uint64_t round,
                        std::uint32_t index) {
    crypto::PerturbationStream s(crypto::derive_stream_key(crypto::StreamDomain::rounding,
                                                           swarm_id, author, round, index));
    double u = 0.0;
    s.uniform(0, {&u, 1});
    return u;
}

namespace {

float coefficient(const Update& u, const ApplyRule& rule) {
    return static_cast<float>(static_cast<double>(rule.lr) * static_cast<double>(rule.scale) *
                              static_cast<double>(u.q));
}

void axpy_block(float* theta, const float* z, float c, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) theta[i] -= c * z[i];
}

}  // namespace

void apply_updates(std::span<float> theta, std::span<const Update> updates, const ApplyRule& rule,
                   std::size_t block) {
    struct Prepared {
        crypto::PerturbationStream stream;
        float c;
    };
    std::vector<Prepared> prepared;
    prepared.reserve(updates.size());
    for (const auto& u : updates) {
        if (u.q == 0) continue;  // a zero coefficient changes nothing (x - 0 * z == x)
        prepared.push_back({direction_stream(rule.swarm_id, u), coefficient(u, rule)});
    }
    if (prepared.empty()) return;
    std::vector<float> z(block);
    for (std::size_t pos = 0; pos < theta.size(); pos += block) {
        const std::size_t n = std::min(block, theta.size() - pos);
        for (const auto& p : prepared) {
            fill_direction(p.stream, rule.dist, pos, {z.data(), n});
            axpy_block(theta.data() + pos, z.data(), p.c, n);
        }
    }
}

void apply_updates_separately(std::span<float> theta, std::span<const Update> updates,
                              const ApplyRule& rule) {
    std::vector<float> z(theta.size());
    for (const auto& u : updates) {
        fill_direction(direction_stream(rule.swarm_id, u), rule.dist, 0, z);
        axpy_block(theta.data(), z.data(), coefficient(u, rule), theta.size());
    }
}

void replay(std::span<float> params, std::vector<Update> updates, const ApplyRule& rule) {
    sort_canonical(updates);
    apply_updates(params, updates, rule);
}

StepResult zo_step(const Task& task, std::span<const float> theta, ByteSpan swarm_id,
                   ByteSpan author, std::uint64_t round, std::span<const std::uint32_t> batch,
                   const ZoOptions& options) {
    StepResult result;
    double loss_sum = 0.0;
    for (std::uint32_t i = 0; i < options.directions; ++i) {
        Update u{Bytes(author.begin(), author.end()), round, i, 0};
        const auto stream = direction_stream(swarm_id, u);
        const Perturbation plus{stream, options.dist, options.eps};
        const Perturbation minus{stream, options.dist, -options.eps};
        const double lp = task.loss(theta, batch, &plus);
        const double lm = task.loss(theta, batch, &minus);
        const double g = (lp - lm) / (2.0 * static_cast<double>(options.eps));
        const auto qz = quantize(g, options.scale, rounding_uniform(swarm_id, author, round, i));
        u.q = qz.q;
        result.clipped += qz.clipped ? 1 : 0;
        result.projected.push_back(g);
        result.updates.push_back(std::move(u));
        loss_sum += (lp + lm) / 2.0;
    }
    result.loss = options.directions > 0 ? loss_sum / options.directions : 0.0;
    return result;
}

}  // namespace swarmd::training
