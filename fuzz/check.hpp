#pragma once
// The fuzz targets' assertion: a broken invariant aborts, which libFuzzer reports as a crash
// (and the corpus replay as a failed ctest case).
#include <cstdlib>

namespace swarmd::fuzz {

inline void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace swarmd::fuzz
