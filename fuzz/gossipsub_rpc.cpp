// fuzz-deps: swarmd_net_core
// Feeds arbitrary bytes to a gossipsub router as a peer's inbound stream: framing, RPC
// protobuf decoding, subscriptions, messages and every control message, then a heartbeat.
// The first byte picks the chunk size, so frame boundaries fall everywhere.
#include <cstddef>
#include <cstdint>

#include <spdlog/spdlog.h>

#include "crypto/keys.hpp"
#include "net/gossipsub.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Bytes own_seed(32, 0x11);
    static const Bytes peer_seed(32, 0x22);
    static const crypto::PeerId peer =
        crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(peer_seed).public_key());
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);  // a drop per input would drown the fuzzer
        return true;
    }();
    (void)quiet;
    if (size == 0) return 0;
    Options o;
    o.rng_seed = 1;
    o.initial_seqno = 1;
    o.max_rpc_size = 64 * 1024;
    Router router(crypto::PrivateKey::from_seed(own_seed), o);
    Time now{std::chrono::hours(1)};
    router.subscribe("t", now);
    router.add_peer(peer, (data[0] & 0x80) != 0, (data[0] & 0x40) ? Protocol::v10 : Protocol::v11,
                    now);
    const std::size_t chunk = 1 + (data[0] & 0x3f);
    const ByteSpan input(data + 1, size - 1);
    for (std::size_t off = 0; off < input.size(); off += chunk) {
        router.handle_data(peer, input.subspan(off, std::min(chunk, input.size() - off)), now);
        now += std::chrono::milliseconds(300);
    }
    router.heartbeat(now + std::chrono::seconds(4));
    router.remove_peer(peer, now);
    return 0;
}
