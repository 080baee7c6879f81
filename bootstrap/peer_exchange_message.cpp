#include "bootstrap/peer_exchange_message.hpp"

#include <algorithm>

#include "base/varint.hpp"
#include "bootstrap/error.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::bootstrap {
namespace {

bool read_chunk(ByteSpan& in, ByteSpan& out) {
    auto len = varint_decode(in);
    if (len.status != VarintStatus::ok || len.value > in.size() - len.length) return false;
    out = in.subspan(len.length, len.value);
    in = in.subspan(len.length + len.value);
    return true;
}

void write_chunk(Bytes& out, ByteSpan chunk) {
    varint_append(out, chunk.size());
    append(out, chunk);
}

}  // namespace

Bytes encode_peers(const std::vector<PeerInfo>& peers) {
    Bytes out;
    const auto count = std::min(peers.size(), kMaxExchangedPeers);
    varint_append(out, count);
    for (std::size_t i = 0; i < count; ++i) {
        write_chunk(out, peers[i].peer.bytes());
        std::vector<Bytes> addrs;
        for (const auto& a : peers[i].addrs) {
            if (addrs.size() == kMaxExchangedAddrs) break;
            if (auto m = net::Multiaddr::parse(a)) addrs.push_back(m.value().to_bytes());
        }
        varint_append(out, addrs.size());
        for (const auto& a : addrs) write_chunk(out, a);
    }
    return out;
}

Result<std::vector<PeerInfo>> decode_peers(ByteSpan in) {
    if (in.size() > kMaxPeersMessage) return Errc::bad_peer_exchange;
    auto count = varint_decode(in);
    if (count.status != VarintStatus::ok || count.value > kMaxExchangedPeers)
        return Errc::bad_peer_exchange;
    in = in.subspan(count.length);
    std::vector<PeerInfo> out;
    for (std::uint64_t i = 0; i < count.value; ++i) {
        ByteSpan id_bytes;
        if (!read_chunk(in, id_bytes)) return Errc::bad_peer_exchange;
        auto peer = crypto::PeerId::from_bytes(id_bytes);
        if (!peer) return Errc::bad_peer_exchange;
        auto naddrs = varint_decode(in);
        if (naddrs.status != VarintStatus::ok || naddrs.value > kMaxExchangedAddrs)
            return Errc::bad_peer_exchange;
        in = in.subspan(naddrs.length);
        PeerInfo info{peer.value(), {}};
        for (std::uint64_t j = 0; j < naddrs.value; ++j) {
            ByteSpan raw;
            if (!read_chunk(in, raw)) return Errc::bad_peer_exchange;
            auto addr = net::Multiaddr::from_bytes(raw);
            if (!addr || !addr.value().tcp_endpoint()) return Errc::bad_peer_exchange;
            info.addrs.push_back(addr.value().without_peer_id().to_string());
        }
        out.push_back(std::move(info));
    }
    if (!in.empty()) return Errc::bad_peer_exchange;
    return out;
}

}  // namespace swarmd::bootstrap
