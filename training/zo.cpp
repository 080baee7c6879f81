#include "training/zo.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// Sign masks of the 8 bits of a byte: kSignMask[b][j] = bit j of b ? 0x80000000 : 0.
struct SignMasks {
    alignas(32) std::uint32_t v[256][8];
    constexpr SignMasks() : v() {
        for (int b = 0; b < 256; ++b) {
            for (int j = 0; j < 8; ++j) v[b][j] = ((b >> j) & 1) != 0 ? 0x80000000U : 0U;
        }
    }
};
constexpr SignMasks kSignMasks;

// theta[i] -= c * z[i] for Rademacher z read straight from keystream bits: c * (+/-1) is exactly
// +/-c, i.e. c with its sign bit flipped where the bit is 1, so this matches axpy_block on the
// mapped floats bit for bit without materialising them. The AVX2 and SSE2 paths do the same
// IEEE subtractions (no FMA) several lanes at a time, so every path gives the same bits.
#if defined(__x86_64__)
__attribute__((target("avx2"))) std::size_t rademacher_avx2(float* theta, const std::uint8_t* bits,
                                                            std::uint32_t cb, std::size_t n) {
    const __m256 cv = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(cb)));
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 m = _mm256_castsi256_ps(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(kSignMasks.v[bits[i / 8]])));
        _mm256_storeu_ps(theta + i, _mm256_sub_ps(_mm256_loadu_ps(theta + i), _mm256_xor_ps(cv, m)));
    }
    return i;
}

const bool kHaveAvx2 = __builtin_cpu_supports("avx2");
#endif

void rademacher_block(float* theta, const std::uint8_t* bits, float c, std::size_t n) {
    const std::uint32_t cb = std::bit_cast<std::uint32_t>(c);
    std::size_t i = 0;
#if defined(__x86_64__)
    if (kHaveAvx2) i = rademacher_avx2(theta, bits, cb, n);
#endif
#if defined(__SSE2__)
    const __m128 cv = _mm_castsi128_ps(_mm_set1_epi32(static_cast<int>(cb)));
    for (; i + 8 <= n; i += 8) {
        const auto* m = reinterpret_cast<const __m128i*>(kSignMasks.v[bits[i / 8]]);
        float* t = theta + i;
        const __m128 lo = _mm_xor_ps(cv, _mm_castsi128_ps(_mm_load_si128(m)));
        const __m128 hi = _mm_xor_ps(cv, _mm_castsi128_ps(_mm_load_si128(m + 1)));
        _mm_storeu_ps(t, _mm_sub_ps(_mm_loadu_ps(t), lo));
        _mm_storeu_ps(t + 4, _mm_sub_ps(_mm_loadu_ps(t + 4), hi));
    }
#endif
    for (; i < n; ++i) {
        theta[i] -= std::bit_cast<float>(cb ^ kSignMasks.v[bits[i / 8]][i % 8]);
    }
}

struct Prepared {
    crypto::PerturbationStream stream;
    float c;
};

void apply_prepared(std::span<float> theta, const std::vector<Prepared>& prepared, ZDist dist,
                    std::size_t block) {
    block = std::max<std::size_t>(8, block / 8 * 8);  // Rademacher blocks start on a byte
    std::vector<float> z(block);
    Bytes bits(block / 8);
    for (std::size_t pos = 0; pos < theta.size(); pos += block) {
        const std::size_t n = std::min(block, theta.size() - pos);
        for (const auto& p : prepared) {
            if (dist == ZDist::rademacher) {
                p.stream.bytes(pos / 8, {bits.data(), (n + 7) / 8});
                rademacher_block(theta.data() + pos, bits.data(), p.c, n);
            } else {
                p.stream.gaussian(pos, {z.data(), n});
                axpy_block(theta.data() + pos, z.data(), p.c, n);
            }
        }
    }
}

}  // namespace

void apply_updates(std::span<float> theta, std::span<const Update> updates, const ApplyRule& rule,
                   std::size_t block) {
    std::vector<Prepared> prepared;
    prepared.reserve(updates.size());
    for (const auto& u : updates) {
        if (u.q == 0) continue;  // a zero coefficient changes nothing (x - 0 * z == x)
        prepared.push_back({direction_stream(rule.swarm_id, u), coefficient(u, rule)});
    }
    if (!prepared.empty()) apply_prepared(theta, prepared, rule.dist, block);
}

void apply_direction(std::span<float> theta, ByteSpan swarm_id, const Update& u, ZDist dist,
                     float c) {
    apply_prepared(theta, {{direction_stream(swarm_id, u), c}}, dist, kApplyBlock);
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
