#include "node/sapo/merge_wire.hpp"

#include <algorithm>
#include <cstring>

#include "base/endian.hpp"

namespace swarmd::node {
namespace {

constexpr std::uint8_t kOk = 0;
constexpr std::uint8_t kNone = 1;

const char* describe(MergeErrc e) noexcept {
    switch (e) {
        case MergeErrc::bad_request:
            return "bad merge request";
        case MergeErrc::not_committed:
            return "the peer has not committed to merge weights";
        case MergeErrc::not_held:
            return "the peer does not hold those weights";
        case MergeErrc::malformed_response:
            return "malformed merge response";
        case MergeErrc::size_mismatch:
            return "weights of another architecture";
        case MergeErrc::hash_mismatch:
            return "weights do not match their commitment";
    }
    return nullptr;
}

}  // namespace

const std::error_category& merge_category() noexcept {
    static const EnumCategory<MergeErrc> category("merge", describe);
    return category;
}

Bytes encode_commitment(const WeightsCommitment& c) {
    Bytes out;
    append_be<std::uint64_t>(out, c.round);
    append(out, c.hash);
    append_be<std::uint64_t>(out, c.parameters);
    append(out, as_bytes(c.policy));
    return out;
}

Result<WeightsCommitment> decode_commitment(ByteSpan bytes) {
    if (bytes.size() <= kCommitmentFixedSize ||
        bytes.size() > kCommitmentFixedSize + kMaxPolicyNameBytes) {
        return MergeErrc::malformed_response;
    }
    WeightsCommitment c;
    c.round = load_be<std::uint64_t>(bytes.data());
    std::memcpy(c.hash.data(), bytes.data() + 8, 32);
    c.parameters = load_be<std::uint64_t>(&bytes[40]);
    c.policy.assign(bytes.begin() + kCommitmentFixedSize, bytes.end());
    return c;
}

Bytes encode_merge_request(ByteSpan swarm_id, const MergeRequest& request) {
    Bytes out(swarm_id.begin(), swarm_id.end());
    out.push_back(static_cast<std::uint8_t>(request.kind));
    if (request.kind == MergeRequestKind::weights) append(out, request.hash);
    return out;
}

Result<MergeRequest> decode_merge_request(ByteSpan request, ByteSpan swarm_id) {
    const bool ours = request.size() > swarm_id.size() &&
                      std::equal(swarm_id.begin(), swarm_id.end(), request.begin());
    if (!ours) return MergeErrc::bad_request;
    const ByteSpan body = request.subspan(swarm_id.size() + 1);
    const std::uint8_t kind = request[swarm_id.size()];
    MergeRequest out;
    if (kind == static_cast<std::uint8_t>(MergeRequestKind::commitment) && body.empty()) {
        return out;
    }
    if (kind != static_cast<std::uint8_t>(MergeRequestKind::weights) ||
        body.size() != out.hash.size()) {
        return MergeErrc::bad_request;
    }
    out.kind = MergeRequestKind::weights;
    std::copy(body.begin(), body.end(), out.hash.begin());
    return out;
}

Bytes encode_commitment_response(const std::optional<WeightsCommitment>& c) {
    Bytes out{c ? kOk : kNone};
    if (c) append(out, encode_commitment(*c));
    return out;
}

Result<WeightsCommitment> decode_commitment_response(ByteSpan response) {
    if (response.empty()) return MergeErrc::malformed_response;
    if (response[0] == kNone && response.size() == 1) return MergeErrc::not_committed;
    if (response[0] != kOk) return MergeErrc::malformed_response;
    return decode_commitment(response.subspan(1));
}

Bytes encode_weights_header(std::optional<std::uint64_t> count) {
    Bytes out{count ? kOk : kNone};
    append_be<std::uint64_t>(out, count.value_or(0));
    return out;
}

Result<void> check_weights_header(ByteSpan header, std::uint64_t parameters) {
    if (header.size() != kWeightsHeaderSize) return MergeErrc::malformed_response;
    if (header[0] == kNone) return MergeErrc::not_held;
    if (header[0] != kOk) return MergeErrc::malformed_response;
    if (load_be<std::uint64_t>(&header[1]) != parameters) return MergeErrc::size_mismatch;
    return success();
}

}  // namespace swarmd::node
