#pragma once
// Shared helpers of the bench/zo_*.cpp benchmarks (header-only, no LibTorch).
#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "training/models.hpp"

namespace swarmd::bench {

// CPU time of the calling thread: the benchmarks run single-threaded (torch and OpenBLAS set
// to one thread), and on a shared machine wall time mostly measures the neighbours.
inline double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
double best_seconds(int reps, F&& f) {
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const double t0 = thread_seconds();
        f();
        best = std::min(best, thread_seconds() - t0);
    }
    return best;
}

// One compute thread everywhere, including OpenBLAS's own pool (it ignores torch's setting).
inline void single_thread() {
    training::set_compute_threads(1);
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
        f(1);
    }
}

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
