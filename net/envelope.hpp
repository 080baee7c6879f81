#pragma once
// Signed envelopes (libp2p/specs RFC 0002): a payload, its type and the signer's public key, signed
// under a domain string the payload's protocol picks, so a signature made for one purpose is never
// valid for another. Peer records (net/peer_record.hpp) and relay reservation vouchers
// (net/relay.hpp) travel in them.
#include <cstddef>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"

namespace swarmd::net {

// Checked before parsing; an Ed25519 envelope with a 32-address peer record fits well within it.
inline constexpr std::size_t kMaxEnvelopeSize = 4 * 1024;

// The bytes an envelope's signature covers: uvarint(len)‖domain‖uvarint(len)‖type‖
// uvarint(len)‖payload.
Bytes envelope_signing_buffer(std::string_view domain, ByteSpan payload_type, ByteSpan payload);

// The serialized envelope of `payload` signed by `key` under `domain` (message_too_large beyond
// kMaxEnvelopeSize).
Result<Bytes> seal_envelope(std::string_view domain, ByteSpan payload_type, ByteSpan payload,
                            const crypto::PrivateKey& key);

struct OpenedEnvelope {
    crypto::PublicKey signer;
    Bytes payload;
};

// Checks an envelope: size cap, payload type (bad_record_type), signer key, and the signature over
// the signing buffer under `domain` (bad_signature). The payload is returned unparsed: RFC 0002
// says nothing is read from it before the signature verifies, and this is where it is verified.
Result<OpenedEnvelope> open_envelope(ByteSpan envelope, std::string_view domain,
                                     ByteSpan payload_type);

}  // namespace swarmd::net
