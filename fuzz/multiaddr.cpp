// fuzz-deps: swarmd_net_core
// Multiaddr decoders: the binary form (identify listenAddrs/observedAddr) and the text form
// (config, CLI). Whatever parses must round-trip exactly.
#include <cstdint>
#include <cstdlib>

#include "net/multiaddr.hpp"

using swarmd::ByteSpan;
using swarmd::net::Multiaddr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    if (auto ma = Multiaddr::from_bytes(in)) {
        // The binary form is canonical (minimal varints), so re-encoding gives the input back.
        if (ma.value().to_bytes() != swarmd::Bytes(in.begin(), in.end())) std::abort();
        auto text = Multiaddr::parse(ma.value().to_string());
        if (!text || text.value() != ma.value()) std::abort();
        (void)ma.value().tcp_endpoint();
        (void)ma.value().peer_id();
    }
    if (auto ma = Multiaddr::parse(swarmd::as_string_view(in))) {
        auto again = Multiaddr::parse(ma.value().to_string());
        if (!again || again.value() != ma.value()) std::abort();
        auto binary = Multiaddr::from_bytes(ma.value().to_bytes());
        if (!binary || binary.value() != ma.value()) std::abort();
    }
    return 0;
}
