#include "net/dcutr.hpp"

#include <algorithm>

#include "net/dcutr.pb.h"
#include "net/error.hpp"
#include "net/relay.hpp"

namespace swarmd::net::dcutr {
namespace {

constexpr int kTypeField = 1;

bool has_unknown_field(const google::protobuf::Message& msg, int number) {
    const auto& unknown = msg.GetReflection()->GetUnknownFields(msg);
    for (int i = 0; i < unknown.field_count(); ++i) {
        if (unknown.field(i).number() == number) return true;
    }
    return false;
}

}  // namespace

Result<Bytes> encode(const HolePunch& message, const Limits& limits) {
    if (message.addrs.size() > limits.max_addrs) return Errc::too_many_addrs;
    pb::HolePunch msg;
    msg.set_type(message.type == Type::connect ? pb::HolePunch::CONNECT : pb::HolePunch::SYNC);
    for (const Multiaddr& addr : message.addrs) {
        const Bytes bytes = addr.to_bytes();
        msg.add_obsaddrs(bytes.data(), bytes.size());
    }
    if (msg.ByteSizeLong() > limits.max_message_size) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<HolePunch> decode(ByteSpan body, const Limits& limits) {
    if (body.size() > limits.max_message_size) return Errc::message_too_large;
    pb::HolePunch msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::malformed_message;
    if (has_unknown_field(msg, kTypeField)) return Errc::unknown_message_type;
    if (!msg.has_type()) return Errc::missing_type;
    HolePunch out;
    out.type = msg.type() == pb::HolePunch::CONNECT ? Type::connect : Type::sync;
    out.addrs.reserve(std::min(limits.max_addrs, static_cast<std::size_t>(msg.obsaddrs_size())));
    for (const std::string& bytes : msg.obsaddrs()) {
        if (out.addrs.size() == limits.max_addrs) break;
        auto addr = Multiaddr::from_bytes(as_bytes(bytes));
        if (addr) {
            out.addrs.push_back(std::move(addr).value());
        } else if (addr.error() != net::Errc::unknown_protocol) {
            return Errc::bad_multiaddr;
        }
    }
    return out;
}

std::vector<Multiaddr> punch_targets(const std::vector<Multiaddr>& offered,
                                     const AddressPolicy& policy, std::size_t max) {
    std::vector<Multiaddr> out;
    for (const Multiaddr& addr : offered) {
        if (out.size() == max) break;
        if (relay::is_circuit_addr(addr)) continue;
        Multiaddr bare = addr.peer_id() ? addr.without_peer_id() : addr;
        // Only /<host>/<h>/tcp/<port>: an address with more after the port (ws, tls) is another
        // transport.
        const auto endpoint = bare.tcp_endpoint();
        if (!endpoint || endpoint->port == 0 || bare.components().size() != 2) continue;
        if (const auto ip = IpAddress::of(bare)) {
            if (ip->unspecified() || !policy.is_public(*ip)) continue;
        } else if (policy.scope(bare) != AddressScope::public_) {
            continue;  // a DNS name is public: it is there to be dialed
        }
        if (std::find(out.begin(), out.end(), bare) == out.end()) out.push_back(std::move(bare));
    }
    return out;
}

}  // namespace swarmd::net::dcutr
