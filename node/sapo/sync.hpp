#pragma once
// /swarmd/sapo-sync/1.0.0: a SAPO node that joins late (or has no cached base policy) fetches the
// base policy of its architecture from peers instead of redoing the supervised warm-up. The base
// is content-addressed (weights_hash, as in the final merge): a joiner fetches only a hash that
// at least two peers announce in their signed heartbeats, asks for it in slices spread over every
// connected holder, and verifies the whole against that hash before using it.
//
// Request (one uvarint-length-prefixed message, exactly kSliceRequestSize bytes):
//   swarm id (32) | weights hash (32) | u64be offset | u64be count      (in floats)
// Response (one message): u8 status | u64be total parameters | when ok, `count` little-endian
//   float32. Status 0 ok, 1 not held, 2 the range is outside the weights.
// A count is at most kMaxSliceFloats; every size is checked before anything is allocated; every
// exchange has a deadline.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/error_category.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "node/sapo/merge_protocol.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

inline constexpr std::string_view kSapoSyncProtocol = "/swarmd/sapo-sync/1.0.0";
inline constexpr std::size_t kMinSliceFloats = 1024;
inline constexpr std::size_t kMaxSliceFloats = 64 * 1024;
inline constexpr std::uint64_t kMaxBaseParameters = std::uint64_t{64} << 20;  // 256 MiB of floats
inline constexpr std::size_t kSliceRequestSize = 32 + 32 + 8 + 8;
inline constexpr std::size_t kSliceResponseHeader = 1 + 8;
inline constexpr std::chrono::seconds kSliceTimeout{20};
// Slices per holder that a fetch aims for, so that the work spreads even for small policies.
inline constexpr std::size_t kSlicesPerHolder = 4;

enum class SapoSyncErrc {
    malformed_request = 1,
    malformed_response,
    not_held,
    bad_range,
    size_mismatch,  // the holder's weights do not have the announced parameter count
    hash_mismatch,  // the slices put together do not hash to the announced hash
    no_holder,      // every holder failed before the weights were complete
};
const std::error_category& sapo_sync_category() noexcept;
inline std::error_code make_error_code(SapoSyncErrc e) noexcept {
    return {static_cast<int>(e), sapo_sync_category()};
}

struct SliceRequest {
    crypto::Digest hash{};
    std::uint64_t offset = 0;  // in floats
    std::uint64_t count = 0;

    friend bool operator==(const SliceRequest&, const SliceRequest&) = default;
};

enum class SliceStatus : std::uint8_t { ok = 0, not_held = 1, bad_range = 2 };

Bytes encode_slice_request(ByteSpan swarm_id, const SliceRequest& r);
// Refuses another swarm's request, a wrong size, an empty or oversized count and a range that
// overflows.
Result<SliceRequest> decode_slice_request(ByteSpan bytes, ByteSpan swarm_id);

Bytes encode_slice_response(SliceStatus status, std::uint64_t total, std::span<const float> values);
// The floats of an ok answer to `asked` from weights of `total` parameters.
Result<std::vector<float>> decode_slice_response(ByteSpan bytes, const SliceRequest& asked,
                                                 std::uint64_t total);

// The slices a fetch of `total` floats from `holders` peers asks for, in order.
std::vector<SliceRequest> plan_slices(const crypto::Digest& hash, std::uint64_t total,
                                      std::size_t holders);

// What heartbeats announce about a peer's base policy.
struct BaseAnnouncement {
    std::string policy;
    std::optional<crypto::Digest> hash;  // none while the peer is still making its base
    std::uint64_t parameters = 0;
};
// A base policy that enough peers agree on.
struct AgreedBase {
    crypto::Digest hash{};
    std::uint64_t parameters = 0;
    std::vector<crypto::PeerId> holders;  // every peer that announced it, sorted
};
// The (hash, parameters) of `policy` announced by the most peers, when at least `min_agree`
// announce it; announcements of other policies and absurd sizes are not counted.
std::optional<AgreedBase> agree_on_base(const std::map<crypto::PeerId, BaseAnnouncement>& beats,
                                        const std::string& policy, std::size_t min_agree);

// Serves the base policy: `lookup` answers the weights held under a hash (null when none).
using BaseLookup = std::function<SharedWeights(const crypto::Digest&)>;
void serve_base(net::Host& host, Bytes swarm_id, BaseLookup lookup);

struct BaseFetchResult {
    std::vector<float> weights;
    std::map<crypto::PeerId, std::size_t> slices_from;  // holder -> slices it served
};
// Fetches `parameters` floats hashing to `hash` under `policy` from `holders` (connected peers),
// spreading slices over them; a slice a holder fails is asked of the others.
boost::asio::awaitable<Result<BaseFetchResult>> fetch_base(net::Host& host, Bytes swarm_id,
                                                           crypto::Digest hash, std::string policy,
                                                           std::uint64_t parameters,
                                                           std::vector<crypto::PeerId> holders);

}  // namespace swarmd::node

SWARMD_ERROR_CODE_ENUM(swarmd::node::SapoSyncErrc);
