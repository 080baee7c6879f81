#pragma once
// What the status topic ("swarmd/<swarm id>/status/1") carries: heartbeats and merge orders, as
// JSON objects of a fixed schema. The decoder is strict: an unknown type or key, a field of the
// wrong type, an over-long string or list, or a merge order whose signature does not verify is
// refused, so the status validator rejects it and it is never forwarded (docs/security.md).
//
//   heartbeat:    {"type": "status", "role": "trainer" | "relay", "round": u64, ...}
//   merge order:  {"type": "merge_request", "merge_round": u64, "operator": peer id,
//                  "signature": hex}
//
// A merge order lowers the swarm's merge round. It is signed by one of the spec's merge
// operators (spec key merge_operators) over kMergeOrderDomain || swarm id || u64be round, apart
// from the gossip signature, so that any node can pass it on in its heartbeats and a node that
// was away still learns it, from whoever heard it, without trusting the one who passes it on.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.hpp"
#include "base/error_category.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"

namespace swarmd::node {

inline constexpr std::size_t kMaxStatusMessage = 4096;
inline constexpr std::size_t kMaxAnnouncedCheckpoints = 8;
inline constexpr std::size_t kMaxMergedFromInBeat = 64;
inline constexpr std::size_t kMaxStatusText = 64;  // merge_state, policy, version
inline constexpr std::string_view kMergeOrderDomain = "swarmd/merge-order/1";

// An early merge at `round`, signed by a merge operator of the swarm.
struct MergeOrder {
    std::uint64_t round = 0;
    crypto::PeerId signer;
    crypto::Signature signature{};

    // Signs as `key`, whose peer id is the signer.
    static MergeOrder sign(const crypto::PrivateKey& key, ByteSpan swarm_id, std::uint64_t round);
    // True when the signer's Ed25519 key verifies the signature for this swarm.
    bool verify(ByteSpan swarm_id) const;
    friend bool operator==(const MergeOrder&, const MergeOrder&) = default;
};

// The weights a SAPO trainer committed to for the final merge.
struct BeatCommit {
    crypto::Digest hash{};
    std::uint64_t round = 0;
    std::uint64_t parameters = 0;
    friend bool operator==(const BeatCommit&, const BeatCommit&) = default;
};

// One node's heartbeat. The SAPO fields are empty in ZO mode and on relays.
struct Heartbeat {
    bool trainer = false;
    std::uint64_t round = 0;
    std::uint64_t merge_round = 0;  // what the sender merges at: informational, it moves nothing
    std::vector<std::pair<std::uint64_t, crypto::Digest>> checkpoints;  // canonical (round, hash)
    std::string merge_state;
    std::optional<crypto::Digest> merged_hash;
    double accuracy = -1.0;
    std::uint64_t peers = 0;
    std::string version;
    std::optional<MergeOrder> order;  // the merge order the sender follows, passed on

    // SAPO
    std::string policy;
    double reward = -1.0;
    std::optional<crypto::Digest> base_hash;
    std::uint64_t base_parameters = 0;
    std::optional<BeatCommit> commit;
    std::vector<crypto::PeerId> merged_from;

    friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

using StatusMessage = std::variant<Heartbeat, MergeOrder>;

enum class StatusErrc {
    too_large = 1,  // over kMaxStatusMessage bytes
    not_json,       // not a JSON object
    unknown_type,   // "type" is neither "status" nor "merge_request"
    unknown_field,  // a key the schema does not have
    bad_field,      // a field of the wrong type, out of range or over-long
    bad_order_signature,
};
const std::error_category& status_category() noexcept;
inline std::error_code make_error_code(StatusErrc e) noexcept {
    return {static_cast<int>(e), status_category()};
}

Bytes encode_status(const Heartbeat& beat);
Bytes encode_status(const MergeOrder& order);
// Strict (see above). Checks a merge order's signature against swarm_id, wherever it appears;
// whether its signer is one of the swarm's operators is the caller's question.
Result<StatusMessage> decode_status(ByteSpan bytes, ByteSpan swarm_id);

// A heartbeat's checkpoint list as the wire and /api/status show it: [[round, "hex hash"], ...].
nlohmann::json checkpoints_json(
    const std::vector<std::pair<std::uint64_t, crypto::Digest>>& checkpoints);
// A number JSON can hold: non-finite values (NaN before the first evaluation) become `fallback`.
double finite_or(double v, double fallback);

// Sets the heartbeat's fields (all but "type") in `out`, as /api/status shows them.
void add_heartbeat_fields(const Heartbeat& beat, nlohmann::json& out);

}  // namespace swarmd::node

SWARMD_ERROR_CODE_ENUM(swarmd::node::StatusErrc);
