// fuzz-deps: swarmd_node_wire
// /swarmd/merge/1.0.0 as a peer sends it: requests (for our swarm id and for one taken from the
// input, so valid requests are reachable), commitments, commitment responses and weights headers
// (for a parameter count taken from the input, and for a fixed one). Whatever decodes re-encodes
// to the same bytes, and each decoder accepts exactly the shapes its format allows.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "base/endian.hpp"
#include "fuzz/check.hpp"
#include "node/sapo/merge_wire.hpp"

using namespace swarmd;
using namespace swarmd::node;
using swarmd::fuzz::check;

namespace {

bool equal(const Bytes& a, ByteSpan b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void request(ByteSpan in, ByteSpan swarm_id) {
    auto r = decode_merge_request(in, swarm_id);
    if (!r) return;
    check(in.size() <= kMaxMergeRequest);
    check(equal(encode_merge_request(swarm_id, r.value()), in));
}

void commitment(ByteSpan in) {
    auto c = decode_commitment(in);
    check(static_cast<bool>(c) == (in.size() > kCommitmentFixedSize &&
                                   in.size() <= kCommitmentFixedSize + kMaxPolicyNameBytes));
    if (!c) return;
    check(!c.value().policy.empty() && c.value().policy.size() <= kMaxPolicyNameBytes);
    check(equal(encode_commitment(c.value()), in));
}

void commitment_response(ByteSpan in) {
    auto c = decode_commitment_response(in);
    if (!c) {
        const bool none = in.size() == 1 && in[0] == 1;
        check((c.error() == MergeErrc::not_committed) == none);
        if (none) check(equal(encode_commitment_response(std::nullopt), in));
        return;
    }
    check(in.size() <= kMaxCommitmentResponse);
    check(equal(encode_commitment_response(c.value()), in));
}

void weights_header(ByteSpan in, std::uint64_t parameters) {
    auto checked = check_weights_header(in, parameters);
    if (!checked) {
        check(checked.error() != MergeErrc::not_held || in[0] == 1);
        return;
    }
    check(equal(encode_weights_header(parameters), in));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    const Bytes ours(kMergeSwarmIdSize, 0x5a);
    request(in, ours);
    if (size >= kMergeSwarmIdSize) request(in, in.first(kMergeSwarmIdSize));
    commitment(in);
    commitment_response(in);
    weights_header(in, 1000);
    if (size == kWeightsHeaderSize) weights_header(in, load_be<std::uint64_t>(data + 1));
    return 0;
}
