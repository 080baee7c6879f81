// fuzz-deps: swarmd_bootstrap_core
// /swarmd/peers/1.0.0 responses as a peer sends them: what decodes is within the caps, names only
// TCP addresses without /p2p/, and re-encodes to a response that decodes to the same peers (and
// re-encodes to the same bytes again).
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "bootstrap/peer_exchange_message.hpp"
#include "fuzz/check.hpp"
#include "net/multiaddr.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
using swarmd::fuzz::check;

namespace {

bool same(const std::vector<PeerInfo>& a, const std::vector<PeerInfo>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const PeerInfo& x, const PeerInfo& y) {
                          return x.peer == y.peer && x.addrs == y.addrs;
                      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto peers = decode_peers(ByteSpan(data, size));
    if (!peers) return 0;
    check(peers.value().size() <= kMaxExchangedPeers);
    for (const PeerInfo& info : peers.value()) {
        check(info.addrs.size() <= kMaxExchangedAddrs);
        for (const std::string& text : info.addrs) {
            auto addr = net::Multiaddr::parse(text);
            check(addr && addr.value().tcp_endpoint() && !addr.value().peer_id());
        }
    }
    const Bytes encoded = encode_peers(peers.value());
    auto again = decode_peers(encoded);
    check(again && same(again.value(), peers.value()));
    const Bytes twice = encode_peers(again.value());
    check(twice == encoded);
    return 0;
}
