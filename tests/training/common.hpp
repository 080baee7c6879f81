#pragma once
// Shared fixtures of the training tests: data sets are loaded once per process.
#include <random>
#include <vector>

#include "training/data.hpp"
#include "training/models.hpp"

namespace swarmd::training::test {

inline const DigitsData& digits() {
    static const DigitsData d = [] {
        set_compute_threads(1);
        return load_digits().value();
    }();
    return d;
}

inline std::vector<std::uint32_t> sample_batch(std::mt19937_64& rng,
                                               const std::vector<std::uint32_t>& pool,
                                               std::size_t n) {
    std::vector<std::uint32_t> b(n);
    for (auto& x : b) x = pool[rng() % pool.size()];
    return b;
}

inline std::vector<std::uint32_t> all_indices(std::size_t n) {
    std::vector<std::uint32_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint32_t>(i);
    return v;
}

}  // namespace swarmd::training::test
