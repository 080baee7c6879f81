// fuzz-deps: swarmd_net_core
// Feeds arbitrary bytes to the DCUtR HolePunch decoder; what decodes must re-encode to a message
// that decodes the same, and its addresses are put to the punch's address choice, whose output
// must stay within its bound and be direct TCP addresses the policy calls public.
#include <cstddef>
#include <cstdint>

#include "net/dcutr.hpp"
#include "net/relay.hpp"

using namespace swarmd;
using namespace swarmd::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = dcutr::decode(ByteSpan(data, size));
    if (!decoded) return 0;
    const dcutr::HolePunch& m = decoded.value();
    if (m.addrs.size() > dcutr::Limits::kDefaultMaxAddrs) __builtin_trap();
    auto again = dcutr::encode(m);
    if (again) {
        auto back = dcutr::decode(again.value());
        if (!back || back.value().type != m.type || back.value().addrs != m.addrs) __builtin_trap();
    }
    static const AddressPolicy policy;
    static const AddressPolicy lab({Cidr::parse("10.0.0.0/8").value()});
    for (const AddressPolicy* p : {&policy, &lab}) {
        const auto targets = dcutr::punch_targets(m.addrs, *p, 4);
        if (targets.size() > 4) __builtin_trap();
        for (const Multiaddr& t : targets) {
            const auto ip = IpAddress::of(t);
            const auto endpoint = t.tcp_endpoint();
            if (!endpoint || (ip && !p->is_public(*ip)) || relay::is_circuit_addr(t) ||
                t.peer_id() || t.components().size() != 2)
                __builtin_trap();
        }
    }
    return 0;
}
