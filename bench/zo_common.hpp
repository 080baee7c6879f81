#pragma once
// Shared helpers of the bench/zo_*.cpp benchmarks (header-only, no LibTorch).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "bench/timing.hpp"
#include "training/models.hpp"

namespace swarmd::bench {

// One compute thread everywhere, including OpenBLAS's own pool.
inline void single_thread() { training::set_compute_threads(1); }

inline void print_blas() {
    std::error_code ec;
    const auto alt =
        std::filesystem::read_symlink("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", ec);
    std::printf("BLAS loaded: %s\n", training::blas_in_use().c_str());
    std::printf("BLAS alternative: %s\n", ec ? "(none)" : alt.c_str());
}

inline std::vector<std::uint32_t> batch_of(std::size_t n, std::size_t pool, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint32_t> b(n);
    for (auto& x : b) x = static_cast<std::uint32_t>(rng() % pool);
    return b;
}

}  // namespace swarmd::bench
