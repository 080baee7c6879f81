#pragma once
// The ZO update on the wire: the updates topic's message, and the signature that lets anyone
// re-verify an update's author from its peer id alone (the update log and the sync protocol
// keep it beside each update).
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/bytes.hpp"
#include "crypto/keys.hpp"
#include "training/update_log.hpp"

namespace swarmd::node {

// The zo topic's message (version 2): u8 version | u64be round | u32be index | i8 q |
// u64be ticket (the author's work ticket, training/author_ticket.hpp). The author is the gossip
// message's signed `from`, so it is not repeated.
inline constexpr std::size_t kZoMessageSize = 22;
Bytes encode_zo_message(const training::Update& u);
// Fails on a wrong size or version; `author` is the message's verified author.
std::optional<training::Update> decode_zo_message(ByteSpan data, Bytes author);

// An update's signature is the StrictSign signature of the gossip message {from = author,
// data = encode_zo_message(update), seqno, topic = zo_topic(swarm)} (net/gossipsub_message.hpp).
// The signature of a received update is the one its gossip message carried; a node signs its
// own in a seqno space of their own (the top bit set, then round and index), apart from the
// wall-clock seqnos its gossip router uses, so that the two never share a message id.
inline constexpr std::uint64_t kOwnSeqnoBit = std::uint64_t{1} << 63;
training::UpdateSignature sign_update(const crypto::PrivateKey& key, std::string_view topic,
                                      const training::Update& u);
// True when the author's key (from its Ed25519 peer id) verifies the signature.
bool verify_update(std::string_view topic, const training::SignedUpdate& u);

}  // namespace swarmd::node
