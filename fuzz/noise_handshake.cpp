// fuzz-deps: swarmd_net_core
// Noise handshake: a responder and an initiator (fixed keys) fed arbitrary handshake bytes, and
// the decrypted-payload checker fed arbitrary payloads.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "net/noise.hpp"

using namespace swarmd;
using namespace swarmd::net;

namespace {
std::shared_ptr<const NoiseIdentity> identity(std::uint8_t fill) {
    return std::make_shared<NoiseIdentity>(crypto::PrivateKey::from_seed(Bytes(32, fill)),
                                           crypto::DhKeyPair::from_secret(Bytes(32, fill + 1)));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto local = identity(7);
    if (size < 1) return 0;
    const std::size_t chunk = (data[0] & 0x3f) + 1;
    const ByteSpan in(data + 1, size - 1);
    const auto feed = [&](NoiseHandshake& hs) {
        for (std::size_t i = 0; i < in.size(); i += chunk) {
            auto step = hs.feed(in.subspan(i, std::min(chunk, in.size() - i)));
            if (!step || step.value().done) return;
        }
    };
    switch (data[0] >> 6) {
        case 0: {
            auto hs =
                NoiseHandshake::responder(local, crypto::DhKeyPair::from_secret(Bytes(32, 3)));
            feed(hs);
            break;
        }
        case 1: {
            auto hs = NoiseHandshake::initiator(local, std::nullopt,
                                                crypto::DhKeyPair::from_secret(Bytes(32, 4)));
            (void)hs.start();
            feed(hs);
            break;
        }
        default: {
            crypto::DhPublic rs{};
            (void)noise_verify_payload(in, rs, std::nullopt);
            break;
        }
    }
    return 0;
}
