// fuzz-deps: swarmd_net_core
// multistream-select dialer and listener fed peer bytes in chunks chosen by the input.
#include <cstdint>
#include <cstdlib>

#include "net/multistream.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {
template <class Peer>
void run(Peer& peer, ByteSpan in, std::size_t chunk) {
    for (std::size_t i = 0; i < in.size(); i += chunk) {
        auto step = peer.feed(in.subspan(i, std::min(chunk, in.size() - i)));
        if (!step) return;
        if (step.value().agreed) {
            if (!peer.agreed() || peer.protocol().empty()) std::abort();
            (void)peer.take_leftover();
            return;
        }
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t chunk = (data[0] & 0x3f) + 1;
    const ByteSpan in(data + 1, size - 1);
    if (data[0] & 0x80) {
        MultistreamDialer dialer({"/noise", "/yamux/1.0.0", "/ipfs/id/1.0.0"});
        (void)dialer.start();
        run(dialer, in, chunk);
    } else {
        MultistreamListener listener({"/noise", "/yamux/1.0.0", "/meshsub/1.1.0"});
        run(listener, in, chunk);
    }
    return 0;
}
