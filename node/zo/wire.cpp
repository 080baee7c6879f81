#include "node/zo/wire.hpp"

#include "base/endian.hpp"
#include "crypto/peer_id.hpp"
#include "net/gossipsub_message.hpp"

namespace swarmd::node {
namespace {

constexpr std::uint8_t kZoMessageVersion = 2;

}  // namespace

Bytes encode_zo_message(const training::Update& u) {
    Bytes out{kZoMessageVersion};
    append_be(out, u.round);
    append_be(out, u.index);
    out.push_back(static_cast<std::uint8_t>(u.q));
    append_be(out, u.ticket);
    return out;
}

std::optional<training::Update> decode_zo_message(ByteSpan data, Bytes author) {
    if (data.size() != kZoMessageSize || data[0] != kZoMessageVersion) return std::nullopt;
    training::Update u;
    u.author = std::move(author);
    u.round = load_be<std::uint64_t>(&data[1]);
    u.index = load_be<std::uint32_t>(&data[9]);
    u.q = static_cast<std::int8_t>(data[13]);
    u.ticket = load_be<std::uint64_t>(&data[14]);
    return u;
}

namespace {

// The gossip message an update's signature covers (net/gossipsub_message.hpp).
net::gossipsub::pb::Message zo_gossip_message(std::string_view topic, const training::Update& u,
                                              std::uint64_t seqno) {
    net::gossipsub::pb::Message m;
    m.set_from(std::string(as_string_view(u.author)));
    m.set_data(std::string(as_string_view(encode_zo_message(u))));
    m.set_seqno(net::gossipsub::encode_seqno(seqno));
    m.set_topic(std::string(topic));
    return m;
}

}  // namespace

training::UpdateSignature sign_update(const crypto::PrivateKey& key, std::string_view topic,
                                      const training::Update& u) {
    training::UpdateSignature s;
    s.seqno = kOwnSeqnoBit | u.round << 8 | (u.index & 0xff);  // rounds < 2^27, directions <= 64
    s.bytes = key.sign(net::gossipsub::signed_payload(zo_gossip_message(topic, u, s.seqno)));
    return s;
}

bool verify_update(std::string_view topic, const training::SignedUpdate& s) {
    auto id = crypto::PeerId::from_bytes(s.update.author);
    if (!id) return false;
    const auto key = id.value().public_key();
    return key && key->verify(net::gossipsub::signed_payload(
                                  zo_gossip_message(topic, s.update, s.signature.seqno)),
                              s.signature.bytes);
}

}  // namespace swarmd::node
