// fuzz-deps: swarmd_net_core
// Feeds arbitrary bytes to the kad message decoder as a peer's request or response body; what
// decodes must re-encode to a message that decodes the same, and is then served by the request
// handler (routing table and provider store) and fed to a lookup as a response.
#include <cstddef>
#include <cstdint>

#include "crypto/keys.hpp"
#include "net/kad.hpp"

using namespace swarmd;
using namespace swarmd::net::kad;

namespace {

crypto::PeerId peer_from(std::uint8_t n) {
    const Bytes seed(32, n);
    return crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(seed).public_key());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const crypto::PeerId self = peer_from(1);
    static const crypto::PeerId sender = peer_from(2);
    const Time now{std::chrono::hours(1)};
    auto decoded = decode_message(ByteSpan(data, size));
    if (!decoded) return 0;
    const Message& m = decoded.value();
    if (auto again = encode_message(m)) {
        auto back = decode_message(again.value());
        if (!back || back.value().type != m.type || back.value().key != m.key ||
            back.value().closer_peers.size() != m.closer_peers.size() ||
            back.value().provider_peers.size() != m.provider_peers.size())
            __builtin_trap();
    }
    RoutingTable table(self);
    for (const PeerInfo& peer : m.closer_peers) table.add(peer, now);
    ProviderOptions po;
    po.max_per_key = 4;
    po.max_records = 8;
    ProviderStore store(po);
    (void)handle_request(sender, m, table, store, now);
    (void)handle_request(self, m, table, store, now);
    Lookup lookup(self, Key::from_bytes(m.key), m.provider_peers);
    for (const PeerInfo& asked : lookup.next(now))
        lookup.on_response(asked.id, m.closer_peers, now);
    (void)lookup.next(now + std::chrono::minutes(1));
    (void)lookup.closest();
    return 0;
}
