#pragma once
// Timing and summary helpers shared by the benchmarks (header-only, no dependencies beyond libc).
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace swarmd::bench {

// CPU time of the calling thread: the benchmarks run single-threaded (torch and OpenBLAS set
// to one thread), and on a shared machine wall time mostly measures the neighbours.
inline double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The fastest of `reps` runs of f, in thread CPU seconds.
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

// The q-quantile of v (0 <= q <= 1) as the element at index min(n - 1, q * n); 0 when empty.
inline double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    const std::size_t k =
        std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

}  // namespace swarmd::bench
