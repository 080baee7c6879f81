// fuzz-deps: swarmd_net_core
// Identify bodies as a peer sends them: what decodes carries a public key and re-encodes to a
// body that decodes to the same fields. Its addresses then go where the host sends them: the
// observed address to the observed-address table (reported by enough observers to confirm it),
// the listen addresses to the AutoNAT dial candidates and to the choice of addresses advertised.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/peer_id.hpp"
#include "fuzz/check.hpp"
#include "net/identify.hpp"
#include "net/observed_addrs.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::fuzz::check;

namespace {

bool same(const IdentifyInfo& a, const IdentifyInfo& b) {
    return a.public_key == b.public_key && a.listen_addrs == b.listen_addrs &&
           a.observed_addr == b.observed_addr && a.protocols == b.protocols &&
           a.agent_version == b.agent_version && a.protocol_version == b.protocol_version &&
           a.signed_peer_record == b.signed_peer_record;
}

void addresses(const IdentifyInfo& info) {
    const ObservedAddrs::Time now{std::chrono::hours(1)};
    std::vector<Multiaddr> listen;
    for (const Bytes& bytes : info.listen_addrs) {
        if (auto addr = Multiaddr::from_bytes(bytes)) {
            check(addr.value().to_bytes() == bytes);
            listen.push_back(addr.value());
        }
    }
    ObservedAddrs table;
    const AddressPolicy policy;
    if (info.observed_addr) {
        if (auto observed = Multiaddr::from_bytes(*info.observed_addr)) {
            for (int i = 0; i < 6; ++i) {
                const auto observer =
                    Multiaddr::parse("/ip4/198.51.100." + std::to_string(i + 1) + "/tcp/4001");
                (void)table.report(observed.value(), observer.value(), now);
            }
            const auto confirmed = table.confirmed(now);
            const auto seen = table.observed(now);
            check(confirmed.size() <= seen.size());
            for (const Multiaddr& addr : confirmed)
                check(std::find(seen.begin(), seen.end(), addr) != seen.end());
            for (const Multiaddr& addr : policy.advertise_to(listen, observed.value())) {
                const auto ip = IpAddress::of(addr);
                check(!ip || !ip->unspecified());
            }
        }
    }
    constexpr std::size_t kMax = 8;
    const auto candidates = dial_candidates(listen, table, policy, now, kMax);
    check(candidates.size() <= kMax);
    for (const Multiaddr& addr : candidates) check(policy.scope(addr) == AddressScope::public_);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto info = decode_identify(ByteSpan(data, size));
    if (!info) return 0;
    check(info.value().public_key.has_value());
    (void)crypto::PeerId::from_public_key(*info.value().public_key);
    if (auto again = encode_identify(info.value())) {
        auto back = decode_identify(again.value());
        check(back && same(back.value(), info.value()));
    }
    addresses(info.value());
    return 0;
}
