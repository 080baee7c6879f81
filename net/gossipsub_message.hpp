#pragma once
// Gossipsub messages under the StrictSign policy (pubsub/README.md §Message Signing):
//   from      = the author's binary peer id (identity multihash for Ed25519),
//   seqno     = 8-byte big-endian counter, monotonic per author,
//   signature = Ed25519 over "libp2p-pubsub:" || protobuf(Message{from, data, seqno, topic}),
//               the four fields re-encoded in field order, as js and go verify,
//   key       = optional serialized PublicKey; checked against `from` when present.
//
// Message id: go-libp2p-pubsub's DefaultMsgIdFn, `from || seqno` (raw bytes, e.g. for Ed25519
// 00 24 08 01 12 20 <32-byte key> <8-byte seqno>). js and rust default to other functions, so
// every interop peer must be configured with this one (js: gossipsub({msgIdFn})).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/rpc.pb.h"

namespace swarmd::net::gossipsub {

// Binary message id, usable as a hash-map key.
using MessageId = std::string;

inline constexpr std::string_view kSignaturePrefix = "libp2p-pubsub:";
inline constexpr std::size_t kSeqnoSize = 8;

MessageId message_id(const pb::Message& message);
std::string encode_seqno(std::uint64_t seqno);
std::optional<std::uint64_t> decode_seqno(std::string_view bytes);

// The bytes a StrictSign signature covers.
Bytes signed_payload(const pb::Message& message);

// A signed message authored by `key` (whose peer id is `author`).
pb::Message make_signed_message(const crypto::PrivateKey& key, const crypto::PeerId& author,
                                std::string_view topic, ByteSpan data, std::uint64_t seqno,
                                bool include_key);

// Checks the StrictSign rules and the signature; returns the author. Errors: missing_signature,
// bad_seqno, bad_author, key_mismatch, invalid_signature.
Result<crypto::PeerId> verify_message(const pb::Message& message);

}  // namespace swarmd::net::gossipsub
