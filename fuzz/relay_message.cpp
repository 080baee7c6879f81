// fuzz-deps: swarmd_net_core
// Feeds arbitrary bytes to the circuit relay v2 decoders as a hop request, a stop request and a
// reservation voucher: what decodes must re-encode to a message that decodes the same; a hop
// request is then handled by a relay server (reserve, connect, the data accounting), and a hop
// answer checked as a client checks its relay's reservation.
#include <cstddef>
#include <cstdint>

#include "crypto/keys.hpp"
#include "net/relay.hpp"

using namespace swarmd;
using namespace swarmd::net::relay;

namespace {

crypto::PrivateKey key_from(std::uint8_t n) { return crypto::PrivateKey::from_seed(Bytes(32, n)); }

crypto::PeerId peer_from(std::uint8_t n) {
    return crypto::PeerId::from_public_key(key_from(n).public_key());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const crypto::PeerId relay = peer_from(1);
    static const crypto::PeerId client = peer_from(2);
    const Time now = from_unix_seconds(1'800'000'000);
    const ByteSpan input(data, size);

    if (auto hop = decode_hop(input)) {
        const HopMessage& m = hop.value();
        if (auto again = encode_hop(m)) {
            auto back = decode_hop(again.value());
            if (!back || back.value().type != m.type || back.value().status != m.status ||
                back.value().peer.has_value() != m.peer.has_value() ||
                back.value().reservation.has_value() != m.reservation.has_value() ||
                back.value().limit != m.limit)
                __builtin_trap();
        }
        ServerOptions options;
        options.max_reservations = 2;
        options.circuit_limit = Limit{10, 64};
        RelayServer server(key_from(1), options);
        const std::vector<net::Multiaddr> addrs = {
            net::Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value()};
        (void)server.reserve(Requester{client, "127.0.0.1", false}, addrs, now);
        auto action = server.handle_hop(Requester{peer_from(3), "127.0.0.2", false}, m, addrs, now);
        if (action.circuit) {
            if (server.admit(*action.circuit, RelayServer::Direction::to_target, size) > 64)
                __builtin_trap();
            server.close_circuit(*action.circuit);
        }
        if (server.circuits() != 0) __builtin_trap();
        (void)check_reservation(m, relay, client, now);
    }
    if (auto stop = decode_stop(input)) {
        const StopMessage& m = stop.value();
        if (auto again = encode_stop(m)) {
            auto back = decode_stop(again.value());
            if (!back || back.value().type != m.type || back.value().status != m.status ||
                back.value().limit != m.limit)
                __builtin_trap();
        }
    }
    if (auto voucher = open_voucher(input)) {
        if (voucher.value().relay.bytes().empty()) __builtin_trap();
    }
    (void)decode_voucher(input);
    return 0;
}
