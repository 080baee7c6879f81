// fuzz-deps: swarmd_bootstrap_core
// /swarmd/hello/1.0.0 messages as a peer sends them: a hello decodes exactly when it is
// kHelloSize bytes of our version with a known role and status, and re-encodes to the same bytes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "bootstrap/hello_message.hpp"
#include "fuzz/check.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
using swarmd::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    const bool well_formed = size == kHelloSize && data[0] == kHelloVersion &&
                             data[1] <= static_cast<std::uint8_t>(Role::bootstrap) &&
                             data[2] <= static_cast<std::uint8_t>(HelloStatus::rejected_low_score);
    auto hello = decode_hello(in);
    check(static_cast<bool>(hello) == well_formed);
    if (!hello) return 0;
    const Bytes again = encode_hello(hello.value());
    check(std::equal(again.begin(), again.end(), in.begin(), in.end()));
    return 0;
}
