#pragma once
// Small deterministic PRNG (xoshiro256** seeded through splitmix64). Task generation, sampling
// and selection use it instead of torch's RNG, so every node regenerates the same task from
// (family, level, seed) on any platform.
#include <cstdint>
#include <initializer_list>

namespace swarmd::rl {

inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Mixes several words into one seed (order matters).
inline std::uint64_t mix_seed(std::initializer_list<std::uint64_t> words) noexcept {
    std::uint64_t state = 0x5a4d5f524c5f7631ULL;  // "ZM_RL_v1"
    std::uint64_t out = 0;
    for (std::uint64_t w : words) {
        state ^= w;
        out = splitmix64(state);
        state = out;
    }
    return out;
}

class Rng {
  public:
    explicit Rng(std::uint64_t seed) noexcept {
        std::uint64_t sm = seed;
        for (auto& s : m_s) s = splitmix64(sm);
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
        const std::uint64_t t = m_s[1] << 17;
        m_s[2] ^= m_s[0];
        m_s[3] ^= m_s[1];
        m_s[1] ^= m_s[2];
        m_s[0] ^= m_s[3];
        m_s[2] ^= t;
        m_s[3] = rotl(m_s[3], 45);
        return result;
    }

    // Uniform in [0, n) without modulo bias; n > 0.
    std::uint64_t below(std::uint64_t n) noexcept {
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
        std::uint64_t x;
        do {
            x = next();
        } while (x >= limit);
        return x % n;
    }

    // Uniform in [lo, hi].
    std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }

    // Uniform double in [0, 1).
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    bool chance(double p) noexcept { return uniform() < p; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    std::uint64_t m_s[4];
};

}  // namespace swarmd::rl
