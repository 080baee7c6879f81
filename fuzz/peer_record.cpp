// fuzz-deps: swarmd_net_core
// Signed peer record envelopes (identify signedPeerRecord, gossipsub PX): whatever opens must
// re-encode to a record that opens again with the same content.
#include <cstdint>
#include <cstdlib>

#include "net/peer_record.hpp"

using swarmd::ByteSpan;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    if (auto record = swarmd::net::open_peer_record(in)) {
        const swarmd::Bytes payload = swarmd::net::encode_peer_record(record.value());
        auto again = swarmd::net::decode_peer_record(payload);
        if (!again || again.value().peer_id != record.value().peer_id ||
            again.value().seq != record.value().seq ||
            again.value().addresses != record.value().addresses)
            std::abort();
    }
    (void)swarmd::net::decode_peer_record(in);
    return 0;
}
