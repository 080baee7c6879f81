#include "net/gossipsub_message.hpp"

#include "base/endian.hpp"
#include "base/varint.hpp"
#include "net/gossipsub_error.hpp"

namespace swarmd::net::gossipsub {
namespace {

void append_field(Bytes& out, std::uint8_t tag, std::string_view value) {
    out.push_back(tag);
    varint_append(out, value.size());
    append(out, as_bytes(value));
}

}  // namespace

MessageId message_id(const pb::Message& message) { return message.from() + message.seqno(); }

std::string encode_seqno(std::uint64_t seqno) {
    std::uint8_t be[kSeqnoSize];
    store_be(be, seqno);
    return std::string(reinterpret_cast<const char*>(be), kSeqnoSize);
}

std::optional<std::uint64_t> decode_seqno(std::string_view bytes) {
    if (bytes.size() != kSeqnoSize) return std::nullopt;
    return load_be<std::uint64_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()));
}

Bytes signed_payload(const pb::Message& message) {
    // Field order and presence as protobuf serializes Message{from, data, seqno, topic}: this is
    // what js re-encodes, so an absent field stays absent and an empty present one stays present.
    Bytes out;
    out.reserve(kSignaturePrefix.size() + message.from().size() + message.data().size() +
                message.seqno().size() + message.topic().size() + 20);
    append(out, as_bytes(kSignaturePrefix));
    if (message.has_from()) append_field(out, 0x0a, message.from());
    if (message.has_data()) append_field(out, 0x12, message.data());
    if (message.has_seqno()) append_field(out, 0x1a, message.seqno());
    if (message.has_topic()) append_field(out, 0x22, message.topic());
    return out;
}

pb::Message make_signed_message(const crypto::PrivateKey& key, const crypto::PeerId& author,
                                std::string_view topic, ByteSpan data, std::uint64_t seqno,
                                bool include_key) {
    pb::Message m;
    m.set_from(std::string(as_string_view(author.bytes())));
    m.set_data(std::string(as_string_view(data)));
    m.set_seqno(encode_seqno(seqno));
    m.set_topic(std::string(topic));
    const auto signature = key.sign(signed_payload(m));
    m.set_signature(std::string(as_string_view(signature)));
    if (include_key) {
        const Bytes pk = key.public_key().to_protobuf();
        m.set_key(std::string(as_string_view(pk)));
    }
    return m;
}

Result<crypto::PeerId> verify_message(const pb::Message& message) {
    if (!message.has_from() || !message.has_seqno() || !message.has_signature()) {
        return Errc::missing_signature;
    }
    if (message.seqno().size() != kSeqnoSize) return Errc::bad_seqno;
    auto author = crypto::PeerId::from_bytes(as_bytes(message.from()));
    if (!author) return Errc::bad_author;
    std::optional<crypto::PublicKey> key;
    if (message.has_key()) {
        auto parsed = crypto::PublicKey::from_protobuf(as_bytes(message.key()));
        if (!parsed) return Errc::key_mismatch;
        if (crypto::PeerId::from_public_key(parsed.value()) != author.value()) {
            return Errc::key_mismatch;
        }
        key = parsed.value();
    } else {
        key = author.value().public_key();
        if (!key) return Errc::bad_author;  // a hashed id needs the key field
    }
    if (!key->verify(signed_payload(message), as_bytes(message.signature()))) {
        return Errc::invalid_signature;
    }
    return std::move(author).value();
}

}  // namespace swarmd::net::gossipsub
