// fuzz-deps: swarmd_net_core
// Noise transport framing: arbitrary bytes decoded in chunks, and the input as plaintext
// round-tripped through a matching pair of sessions.
#include <cstdint>
#include <cstdlib>

#include "net/noise.hpp"

using namespace swarmd;
using namespace swarmd::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t chunk = std::size_t{data[0]} * 37 + 1;
    const ByteSpan in(data + 1, size - 1);
    crypto::SymmetricKey k1{}, k2{};
    k1.fill(0x11);
    k2.fill(0x22);

    NoiseSession receiver(k1, k2);
    Bytes out;
    for (std::size_t i = 0; i < in.size(); i += chunk) {
        if (!receiver.decrypt(in.subspan(i, std::min(chunk, in.size() - i)), out)) break;
        if (receiver.buffered() > kNoiseMaxMessageSize + 2) std::abort();
    }

    NoiseSession a(k1, k2), b(k2, k1);
    Bytes wire, plain;
    if (!a.encrypt(in, wire)) std::abort();
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
        if (!b.decrypt(ByteSpan(wire).subspan(i, std::min(chunk, wire.size() - i)), plain)) {
            std::abort();
        }
    }
    if (plain != Bytes(in.begin(), in.end())) std::abort();
    return 0;
}
