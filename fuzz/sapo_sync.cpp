// fuzz-deps: swarmd_node
// /swarmd/sapo-sync/1.0.0 as a peer sends it: slice requests (for our swarm id and for one taken
// from the input, so valid requests are reachable) and slice responses to a few asked ranges.
// Whatever decodes is within the caps and re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "fuzz/check.hpp"
#include "node/sapo/sync.hpp"

using namespace swarmd;
using namespace swarmd::node;
using swarmd::fuzz::check;

namespace {

void request(ByteSpan in, ByteSpan swarm_id) {
    auto r = decode_slice_request(in, swarm_id);
    if (!r) return;
    check(r.value().count >= 1 && r.value().count <= kMaxSliceFloats);
    check(r.value().offset <= kMaxBaseParameters);
    const Bytes again = encode_slice_request(swarm_id, r.value());
    check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
}

void response(ByteSpan in, std::uint64_t count, std::uint64_t total) {
    const SliceRequest asked{crypto::Digest{}, 0, count};
    auto v = decode_slice_response(in, asked, total);
    if (!v) return;
    check(v.value().size() == count);
    const Bytes again = encode_slice_response(SliceStatus::ok, total, v.value());
    check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    const Bytes ours(32, 0x5a);
    request(in, ours);
    if (size >= 32) request(in, in.first(32));
    // The total the response must name: the one in the input when there is one, so that the
    // body checks are reached.
    std::uint64_t total = 0;
    for (std::size_t i = 1; i < 9 && i < size; ++i) total = total << 8 | data[i];
    response(in, 1, total);
    if (size > kSliceResponseHeader) {
        const std::uint64_t floats = (size - kSliceResponseHeader) / sizeof(float);
        if (floats >= 1 && floats <= kMaxSliceFloats) response(in, floats, total);
    }
    response(in, kMaxSliceFloats, total);
    return 0;
}
