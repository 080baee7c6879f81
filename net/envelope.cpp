#include "net/envelope.hpp"

#include <algorithm>

#include "base/varint.hpp"
#include "net/envelope.pb.h"
#include "net/error.hpp"

namespace swarmd::net {
namespace {

void append_prefixed(Bytes& out, ByteSpan field) {
    varint_append(out, field.size());
    out.insert(out.end(), field.begin(), field.end());
}

}  // namespace

Bytes envelope_signing_buffer(std::string_view domain, ByteSpan payload_type, ByteSpan payload) {
    Bytes out;
    out.reserve(3 * kMaxVarintBytes + domain.size() + payload_type.size() + payload.size());
    append_prefixed(out, as_bytes(domain));
    append_prefixed(out, payload_type);
    append_prefixed(out, payload);
    return out;
}

Result<Bytes> seal_envelope(std::string_view domain, ByteSpan payload_type, ByteSpan payload,
                            const crypto::PrivateKey& key) {
    if (payload.size() > kMaxEnvelopeSize) return Errc::message_too_large;
    const crypto::Signature signature =
        key.sign(envelope_signing_buffer(domain, payload_type, payload));
    pb::Envelope msg;
    const Bytes public_key = key.public_key().to_protobuf();
    msg.set_public_key(public_key.data(), public_key.size());
    msg.set_payload_type(payload_type.data(), payload_type.size());
    msg.set_payload(payload.data(), payload.size());
    msg.set_signature(signature.data(), signature.size());
    if (msg.ByteSizeLong() > kMaxEnvelopeSize) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<OpenedEnvelope> open_envelope(ByteSpan envelope, std::string_view domain,
                                     ByteSpan payload_type) {
    if (envelope.size() > kMaxEnvelopeSize) return Errc::message_too_large;
    pb::Envelope msg;
    if (!msg.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())))
        return Errc::protocol_error;
    const ByteSpan type = as_bytes(msg.payload_type());
    if (!std::equal(type.begin(), type.end(), payload_type.begin(), payload_type.end()))
        return Errc::bad_record_type;
    auto key = crypto::PublicKey::from_protobuf(as_bytes(msg.public_key()));
    if (!key) return Errc::unsupported_key_type;
    const ByteSpan payload = as_bytes(msg.payload());
    if (!key.value().verify(envelope_signing_buffer(domain, type, payload),
                            as_bytes(msg.signature())))
        return Errc::bad_signature;
    return OpenedEnvelope{key.value(), Bytes(payload.begin(), payload.end())};
}

}  // namespace swarmd::net
