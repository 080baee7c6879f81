#include "net/identify.hpp"

#include "net/error.hpp"
#include "net/identify.pb.h"

namespace swarmd::net {

Result<Bytes> encode_identify(const IdentifyInfo& info) {
    pb::Identify msg;
    msg.set_protocolversion(info.protocol_version);
    msg.set_agentversion(info.agent_version);
    if (info.public_key) {
        const Bytes key = info.public_key->to_protobuf();
        msg.set_publickey(key.data(), key.size());
    }
    for (const Bytes& addr : info.listen_addrs) msg.add_listenaddrs(addr.data(), addr.size());
    if (info.observed_addr)
        msg.set_observedaddr(info.observed_addr->data(), info.observed_addr->size());
    for (const std::string& protocol : info.protocols) msg.add_protocols(protocol);
    if (info.signed_peer_record)
        msg.set_signedpeerrecord(info.signed_peer_record->data(), info.signed_peer_record->size());
    if (msg.ByteSizeLong() > kMaxIdentifyMessageSize) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<IdentifyInfo> decode_identify(ByteSpan body) {
    if (body.size() > kMaxIdentifyMessageSize) return Errc::message_too_large;
    pb::Identify msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::protocol_error;
    if (!msg.has_publickey()) return Errc::protocol_error;
    auto key = crypto::PublicKey::from_protobuf(as_bytes(msg.publickey()));
    if (!key) return Errc::unsupported_key_type;

    IdentifyInfo info;
    info.public_key = key.value();
    info.listen_addrs.reserve(static_cast<std::size_t>(msg.listenaddrs_size()));
    for (const std::string& addr : msg.listenaddrs()) {
        const ByteSpan bytes = as_bytes(addr);
        info.listen_addrs.emplace_back(bytes.begin(), bytes.end());
    }
    if (msg.has_observedaddr()) {
        const ByteSpan bytes = as_bytes(msg.observedaddr());
        info.observed_addr.emplace(bytes.begin(), bytes.end());
    }
    info.protocols.assign(msg.protocols().begin(), msg.protocols().end());
    info.agent_version = msg.agentversion();
    info.protocol_version = msg.protocolversion();
    if (msg.has_signedpeerrecord()) {
        const ByteSpan bytes = as_bytes(msg.signedpeerrecord());
        info.signed_peer_record.emplace(bytes.begin(), bytes.end());
    }
    return info;
}

}  // namespace swarmd::net
