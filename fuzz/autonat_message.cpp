// fuzz-deps: swarmd_net_core
// Feeds arbitrary bytes to the AutoNAT v1 decoder as a DIAL request or a DIAL_RESPONSE; what
// decodes must re-encode to a message that decodes the same, and is then put to the server's
// admission policy (whose dial list must stay within its bounds) and to a client as an answer.
// The first byte also serves as an identify observation for the observed-address table.
#include <cstddef>
#include <cstdint>

#include "crypto/keys.hpp"
#include "net/autonat.hpp"
#include "net/observed_addrs.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace swarmd::net::autonat;

namespace {

crypto::PeerId peer_from(std::uint8_t n) {
    const Bytes seed(32, n);
    return crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(seed).public_key());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const crypto::PeerId sender = peer_from(2);
    static const Multiaddr observed = Multiaddr::parse("/ip4/1.2.3.4/tcp/4001").value();
    const Time now{std::chrono::hours(1)};
    auto decoded = decode_message(ByteSpan(data, size));
    if (!decoded) return 0;
    const Message& m = decoded.value();
    if (auto again = encode_message(m)) {
        auto back = decode_message(again.value());
        if (!back || back.value().type != m.type ||
            back.value().dial.has_value() != m.dial.has_value())
            __builtin_trap();
        if (m.dial &&
            (back.value().dial->addrs != m.dial->addrs || back.value().dial->peer != m.dial->peer))
            __builtin_trap();
        if (m.dial_response && (back.value().dial_response->status != m.dial_response->status ||
                                back.value().dial_response->addr != m.dial_response->addr))
            __builtin_trap();
    }

    Server server;
    const crypto::PeerId claimed = m.dial && m.dial->peer ? *m.dial->peer : sender;
    const auto admission = server.admit(claimed, observed, m, now);
    if (admission.dial.size() > ServerOptions::kDefaultMaxDialAddrs) __builtin_trap();
    for (const Multiaddr& addr : admission.dial) {
        if (IpAddress::of(addr) != IpAddress::of(observed)) __builtin_trap();
    }
    if (admission.dial.empty() == !admission.refusal) __builtin_trap();

    Client client;
    const std::vector<ServerCandidate> candidates{{sender, observed}};
    for (const auto& asked : client.next(candidates, now)) {
        if (m.dial_response)
            client.on_response(asked, *m.dial_response,
                               m.dial ? m.dial->addrs : std::vector<Multiaddr>{}, now);
    }
    (void)client.reachability(now);

    ObservedAddrs table;
    if (m.dial) {
        for (const Multiaddr& addr : m.dial->addrs) {
            (void)table.report(addr, observed, now);
            (void)AddressPolicy().scope(addr);
        }
        (void)AddressPolicy().advertise_to(m.dial->addrs, observed);
    }
    (void)table.confirmed(now);
    return 0;
}
