#include "training/zo.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "training/task.hpp"

namespace swarmd::training {

std::strong_ordering operator<=>(const Update& a, const Update& b) noexcept {
    if (auto c = a.round <=> b.round; c != 0) return c;
    if (auto c = std::lexicographical_compare_three_way(a.author.begin(), a.author.end(),
                                                        b.author.begin(), b.author.end());
        c != 0) {
        return c;
    }
    if (auto c = a.index <=> b.index; c != 0) return c;
    if (auto c = a.q <=> b.q; c != 0) return c;
    return a.ticket <=> b.ticket;
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
    crypto::PerturbationStream s(
        crypto::derive_stream_key(crypto::StreamDomain::rounding, swarm_id, author, round, index));
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

// Rademacher updates straight from keystream bits: c * (+/-1) is exactly +/-c, i.e. c with its
// sign bit flipped where the bit is 1, so theta[i] -= c_k * z_k[i] needs no mapped floats. A group
// of updates is applied with theta held in registers: per parameter the subtractions still run in
// update order, one IEEE subtraction each (no FMA), so every path gives the bits of applying the
// updates one full pass at a time. bits holds `count` rows of `stride` bytes.
void rademacher_group_scalar(float* theta, const std::uint8_t* bits, std::size_t stride,
                             const std::uint32_t* cb, std::size_t count, std::size_t from,
                             std::size_t n) {
    for (std::size_t i = from; i < n; ++i) {
        float t = theta[i];
        for (std::size_t k = 0; k < count; ++k) {
            t -= std::bit_cast<float>(cb[k] ^ kSignMasks.v[bits[k * stride + i / 8]][i % 8]);
        }
        theta[i] = t;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2"), always_inline)) inline __m256 mask(std::uint8_t b) {
    return _mm256_castsi256_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(kSignMasks.v[b])));
}

__attribute__((target("avx2"))) std::size_t rademacher_group_avx2(
    float* theta, const std::uint8_t* bits, std::size_t stride, const std::uint32_t* cb,
    std::size_t count, std::size_t n) {
    std::size_t i = 0;
    // Four independent accumulators hide the latency of the chained subtractions.
    for (; i + 32 <= n; i += 32) {
        __m256 t0 = _mm256_loadu_ps(theta + i);
        __m256 t1 = _mm256_loadu_ps(theta + i + 8);
        __m256 t2 = _mm256_loadu_ps(theta + i + 16);
        __m256 t3 = _mm256_loadu_ps(theta + i + 24);
        const std::uint8_t* row = bits + i / 8;
        for (std::size_t k = 0; k < count; ++k, row += stride) {
            const __m256 c = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(cb[k])));
            t0 = _mm256_sub_ps(t0, _mm256_xor_ps(c, mask(row[0])));
            t1 = _mm256_sub_ps(t1, _mm256_xor_ps(c, mask(row[1])));
            t2 = _mm256_sub_ps(t2, _mm256_xor_ps(c, mask(row[2])));
            t3 = _mm256_sub_ps(t3, _mm256_xor_ps(c, mask(row[3])));
        }
        _mm256_storeu_ps(theta + i, t0);
        _mm256_storeu_ps(theta + i + 8, t1);
        _mm256_storeu_ps(theta + i + 16, t2);
        _mm256_storeu_ps(theta + i + 24, t3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_loadu_ps(theta + i);
        const std::uint8_t* row = bits + i / 8;
        for (std::size_t k = 0; k < count; ++k, row += stride) {
            const __m256 c = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(cb[k])));
            t = _mm256_sub_ps(t, _mm256_xor_ps(c, mask(*row)));
        }
        _mm256_storeu_ps(theta + i, t);
    }
    return i;
}

const bool kHaveAvx2 = __builtin_cpu_supports("avx2");
#endif

void rademacher_group(float* theta, const std::uint8_t* bits, std::size_t stride,
                      const std::uint32_t* cb, std::size_t count, std::size_t n) {
    std::size_t i = 0;
#if defined(__x86_64__)
    if (kHaveAvx2) i = rademacher_group_avx2(theta, bits, stride, cb, count, n);
#endif
    rademacher_group_scalar(theta, bits, stride, cb, count, i, n);
}

struct Prepared {
    crypto::PerturbationStream stream;
    float c;
};

// Updates whose keystream bits are held at once for one block (64 x 512 bytes = 32 KiB).
constexpr std::size_t kGroup = 64;

void apply_prepared(std::span<float> theta, const std::vector<Prepared>& prepared, ZDist dist,
                    std::size_t block) {
    block = std::max<std::size_t>(8, block / 8 * 8);  // Rademacher blocks start on a byte
    const std::size_t stride = block / 8;
    std::vector<float> z(dist == ZDist::gaussian ? block : 0);
    Bytes bits(dist == ZDist::rademacher ? kGroup * stride : 0);
    std::vector<std::uint32_t> cb(kGroup);
    for (std::size_t pos = 0; pos < theta.size(); pos += block) {
        const std::size_t n = std::min(block, theta.size() - pos);
        if (dist == ZDist::gaussian) {
            for (const auto& p : prepared) {
                p.stream.gaussian(pos, {z.data(), n});
                axpy_block(theta.data() + pos, z.data(), p.c, n);
            }
            continue;
        }
        for (std::size_t g = 0; g < prepared.size(); g += kGroup) {
            const std::size_t count = std::min(kGroup, prepared.size() - g);
            for (std::size_t k = 0; k < count; ++k) {
                prepared[g + k].stream.bytes(pos / 8, {bits.data() + k * stride, (n + 7) / 8});
                cb[k] = std::bit_cast<std::uint32_t>(prepared[g + k].c);
            }
            rademacher_group(theta.data() + pos, bits.data(), stride, cb.data(), count, n);
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
