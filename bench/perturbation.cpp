// bench-deps: swarmd_crypto
// Perturbation stream throughput: values/s for Rademacher and Gaussian mappings (and the raw
// keystream), each printed as a ratio to memcpy of the same number of output bytes in this run.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "bench/timing.hpp"
#include "crypto/perturbation.hpp"

using namespace swarmd;
using namespace swarmd::crypto;
using swarmd::bench::best_seconds;

int main() {
    constexpr std::size_t kValues = 1 << 22;  // 4M values = 16 MiB of floats
    constexpr int kReps = 7;
    PerturbationStream s(
        derive_stream_key(StreamDomain::perturbation, as_bytes("bench"), as_bytes("author"), 1, 0));
    std::vector<float> out(kValues), src(kValues, 1.0f);
    Bytes raw(kValues * sizeof(float));
    volatile float sink = 0;

    const double t_memcpy = best_seconds(kReps, [&] {
        std::memcpy(out.data(), src.data(), kValues * sizeof(float));
        sink = sink + out[kValues / 2];
    });
    const double t_raw = best_seconds(kReps, [&] { s.bytes(0, raw); });
    const double t_rad = best_seconds(kReps, [&] { s.rademacher(0, out); });
    const double t_gauss = best_seconds(kReps, [&] { s.gaussian(0, out); });

    std::printf("perturbation streams, %zu values (%zu bytes of float output), best of %d\n",
                kValues, kValues * sizeof(float), kReps);
    std::printf("%-28s %14s %16s\n", "mapping", "values/s", "time / memcpy");
    std::printf("%-28s %14.3g %16.2f\n", "memcpy (baseline)", kValues / t_memcpy, 1.0);
    std::printf("%-28s %14.3g %16.2f\n", "raw keystream (4 B/value)", kValues / t_raw,
                t_raw / t_memcpy);
    std::printf("%-28s %14.3g %16.2f\n", "rademacher (1 bit/value)", kValues / t_rad,
                t_rad / t_memcpy);
    std::printf("%-28s %14.3g %16.2f\n", "gaussian (Box-Muller)", kValues / t_gauss,
                t_gauss / t_memcpy);
    return 0;
}
