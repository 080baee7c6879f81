// fuzz-deps: swarmd_node
// /swarmd/sync/1.0.0 as a peer sends it: a request (against a fixed swarm id) and a chunk of
// update records. Whatever decodes must re-encode to the same bytes, and its signatures are
// checked as a receiver checks them (nearly all fail: the point is that checking never crashes).
#include <cstdint>
#include <cstdlib>

#include "fuzz/check.hpp"
#include "node/zo/engine.hpp"
#include "node/zo/sync.hpp"

using namespace swarmd;
using namespace swarmd::node;
using swarmd::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    const Bytes swarm(32, 0x5a);
    if (auto request = decode_sync_request(swarm, in)) {
        check(request.value().kind == SyncRequest::Kind::checkpoint ||
              request.value().after <= request.value().through);
        const Bytes again = encode_sync_request(swarm, request.value());
        check(again.size() == in.size());
    }

    auto records = decode_sync_records(in);
    if (!records) return 0;
    std::size_t bytes = 0;
    for (const auto& r : records.value()) {
        check(!r.update.author.empty() && r.update.author.size() <= 64);
        bytes += r.update.author.size() + kSignedRecordFixed;
        (void)verify_update("/swarmd/zo/fuzz", r);
    }
    check(bytes == in.size());
    check(encode_sync_records(records.value()) == Bytes(in.begin(), in.end()));
    return 0;
}
