#pragma once
// The /swarmd/merge/1.0.0 messages (node/sapo/merge_protocol.hpp describes the exchange and runs
// it): requests, the commitment response and the weights header. Sans-I/O and free of LibTorch,
// so the clang fuzz build links them alone.
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "base/bytes.hpp"
#include "base/error_category.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"

namespace swarmd::node {

enum class MergeErrc {
    bad_request = 1,
    not_committed,  // the peer has no commitment (yet)
    not_held,       // the peer does not hold weights with that hash
    malformed_response,
    size_mismatch,  // the weights do not have our architecture's parameter count
    hash_mismatch,  // the weights do not match the commitment
};
const std::error_category& merge_category() noexcept;
inline std::error_code make_error_code(MergeErrc e) noexcept {
    return {static_cast<int>(e), merge_category()};
}

inline constexpr std::size_t kMergeChunkFloats = 64 * 1024;
inline constexpr std::size_t kMaxPolicyNameBytes = 64;
inline constexpr std::size_t kMergeSwarmIdSize = 32;
inline constexpr std::size_t kMaxMergeRequest = kMergeSwarmIdSize + 1 + 32;
inline constexpr std::size_t kCommitmentFixedSize = 8 + 32 + 8;
inline constexpr std::size_t kMaxCommitmentResponse =
    1 + kCommitmentFixedSize + kMaxPolicyNameBytes;
inline constexpr std::size_t kWeightsHeaderSize = 1 + 8;

// What a node brings to the merge.
struct WeightsCommitment {
    std::string policy;  // architecture name ([[sapo.policies]] name)
    std::uint64_t round = 0;
    crypto::Digest hash{};  // weights_hash(policy, weights)
    std::uint64_t parameters = 0;

    friend bool operator==(const WeightsCommitment&, const WeightsCommitment&) = default;
};

Bytes encode_commitment(const WeightsCommitment& c);
Result<WeightsCommitment> decode_commitment(ByteSpan bytes);

enum class MergeRequestKind : std::uint8_t { commitment = 1, weights = 2 };

struct MergeRequest {
    MergeRequestKind kind = MergeRequestKind::commitment;
    crypto::Digest hash{};  // of the weights asked for (kind weights)

    friend bool operator==(const MergeRequest&, const MergeRequest&) = default;
};

Bytes encode_merge_request(ByteSpan swarm_id, const MergeRequest& request);
// A request for another swarm id, of an unknown kind or with a body that does not fit its kind
// fails with bad_request.
Result<MergeRequest> decode_merge_request(ByteSpan request, ByteSpan swarm_id);

// u8 status (0 ok, 1 none), then the commitment when there is one.
Bytes encode_commitment_response(const std::optional<WeightsCommitment>& c);
// Fails with not_committed when the peer has none.
Result<WeightsCommitment> decode_commitment_response(ByteSpan response);

// u8 status (0 ok, 1 none) | u64be count of the floats that follow (0 when none).
Bytes encode_weights_header(std::optional<std::uint64_t> count);
// Checks the header of weights that must have `parameters` floats: not_held, size_mismatch
// (checked before the receiver allocates anything) or malformed_response.
Result<void> check_weights_header(ByteSpan header, std::uint64_t parameters);

}  // namespace swarmd::node

SWARMD_ERROR_CODE_ENUM(swarmd::node::MergeErrc);
