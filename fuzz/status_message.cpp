// fuzz-deps: swarmd_node
// The status topic's messages as any gossip author sends them: whatever decodes is within the
// schema's caps, and re-encodes to bytes that decode to the same message.
#include <cstdint>
#include <cstdlib>

#include "fuzz/check.hpp"
#include "node/ops/status_message.hpp"

using namespace swarmd;
using namespace swarmd::node;
using swarmd::fuzz::check;

namespace {

const Bytes kSwarm(32, 0x5a);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto m = decode_status(ByteSpan(data, size), kSwarm);
    if (!m) return 0;
    check(size <= kMaxStatusMessage);
    if (const auto* beat = std::get_if<Heartbeat>(&m.value())) {
        check(beat->checkpoints.size() <= kMaxAnnouncedCheckpoints);
        check(beat->merged_from.size() <= kMaxMergedFromInBeat);
        check(beat->merge_state.size() <= kMaxStatusText && beat->policy.size() <= kMaxStatusText);
        if (beat->order) check(beat->order->verify(kSwarm));
        auto again = decode_status(encode_status(*beat), kSwarm);
        check(again && std::get<Heartbeat>(again.value()) == *beat);
    } else {
        const auto& order = std::get<MergeOrder>(m.value());
        check(order.verify(kSwarm) && order.round > 0);
        auto again = decode_status(encode_status(order), kSwarm);
        check(again && std::get<MergeOrder>(again.value()) == order);
    }
    return 0;
}
