#pragma once
// /swarmd/sync/1.0.0: bulk transfer of ZO state between nodes, for the merge's update-set
// reconciliation and for joining late. A request is one length-prefixed message that starts with
// the swarm id (32 bytes); everything is checked and capped on both sides.
//
// Requests (50 bytes): swarm id | u8 version | u8 kind | 16 bytes:
//   kind 1, updates:    u64be after | u64be through          after < round <= through
//   kind 2, checkpoint: u64be round | u32be offset | u32be count
//                       values [offset, offset+count) of the canonical checkpoint through round
// Version 4 is current. Update requests of versions 2 and 3 asked for unsigned records or
// records without author tickets (and the 40-byte version 1 form for unsigned ones), which are
// no longer served: the stream is reset. Version 2 and 3 checkpoint requests are answered as
// version 4 ones.
// Updates response: u64be count, then uvarint-length-prefixed chunks, each a run of signed
// records (kSignedRecordFixed + author bytes each)
//   u8 author_len | author | zo message (node/zo/wire.hpp) | u64be seqno | signature (64)
// until the count is reached. seqno and signature are the author's StrictSign evidence: the
// receiver re-verifies every record (verify_update) before it uses it, so a node that answers
// sync requests cannot make up updates in another author's name.
// Checkpoint response: u8 status (0 held, 1 not held) | u64be n_params | u64be update_count |
// model hash (32); when held, length-prefixed chunks of f32le values (at most kSyncChunkFloats
// each) until min(count, n_params - offset) values have been sent.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "training/update_log.hpp"
#include "training/zo.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

inline constexpr std::size_t kMaxSyncUpdates = 1 << 20;
inline constexpr std::size_t kSyncChunkUpdates = 1024;
inline constexpr std::size_t kMaxCheckpointParams = std::size_t{1} << 26;  // 256 MiB of f32
inline constexpr std::size_t kSyncChunkFloats = 16 * 1024;

// Record bytes besides the author: zo message, seqno, signature (and the author's length).
inline constexpr std::size_t kSignedRecordFixed = 1 + 22 + 8 + 64;

Bytes encode_sync_records(std::span<const training::SignedUpdate> updates);
// Structure only: fails on a truncated record or an author whose peer id does not embed its
// Ed25519 key (its signature could not be checked). Signatures are checked by verify_update.
Result<std::vector<training::SignedUpdate>> decode_sync_records(ByteSpan bytes);

// What one peer answered to an updates request, decoded but not yet verified.
struct SyncBatch {
    crypto::PeerId peer;
    std::vector<training::SignedUpdate> updates;
};

// A slice of a canonical checkpoint as the sync protocol carries it.
struct CheckpointSlice {
    std::uint64_t round = 0;
    std::uint64_t n_params = 0;
    std::uint64_t update_count = 0;
    crypto::Digest model_hash{};
    std::uint64_t offset = 0;
    std::vector<float> values;
};

// A sync request, decoded.
struct SyncRequest {
    enum class Kind { updates, checkpoint };
    Kind kind = Kind::updates;
    std::uint64_t after = 0;  // updates: rounds in (after, through]
    std::uint64_t through = 0;
    std::uint64_t round = 0;  // checkpoint: through round, and the slice wanted
    std::uint32_t offset = 0;
    std::uint32_t count = 0;
};
Bytes encode_sync_request(ByteSpan swarm_id, const SyncRequest& request);
// Fails on a wrong size, another swarm, an unknown version or kind, an update request of a
// version before 3, or after > through.
Result<SyncRequest> decode_sync_request(ByteSpan swarm_id, ByteSpan bytes);

// What a node serves; both answer on the io thread through their callbacks.
struct SyncSource {
    using UpdatesDone = std::function<void(std::vector<training::SignedUpdate>)>;
    using SliceDone = std::function<void(std::optional<CheckpointSlice>)>;
    std::function<void(std::uint64_t after, std::uint64_t through, UpdatesDone)> updates;
    std::function<void(std::uint64_t round, std::uint64_t offset, std::uint64_t count, SliceDone)>
        checkpoint;
};
void serve_sync(net::Host& host, Bytes swarm_id, SyncSource source);

// What fetch_updates checks while it reads, so a hostile answer is cut off before it is held:
// every record's author is new or known in this answer and at most max_authors authors appear
// (fresh identities are free, so signatures alone would not bound an answer); the first record
// of each author and `samples_per_chunk` random records of each chunk must verify; no record
// appears twice. The engine still verifies every record it accepts.
struct UpdatesCheck {
    std::size_t max_authors = 256;
    std::size_t samples_per_chunk = 8;
};

// Updates with after < round <= through that the peer holds (after = 0: from the start).
// Fails with bad_signature, message_too_large (authors or records over the caps) or
// protocol_error (a record twice) as soon as the answer shows it.
boost::asio::awaitable<Result<std::vector<training::SignedUpdate>>> fetch_updates(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, std::uint64_t through,
    std::uint64_t after = 0, UpdatesCheck check = {});
// values [offset, offset + count) of the peer's canonical checkpoint through `round`; the
// answer's n_params must be expected_params. Errc::protocol_not_supported when not held.
boost::asio::awaitable<Result<CheckpointSlice>> fetch_checkpoint_slice(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, std::uint64_t round,
    std::uint64_t offset, std::uint64_t count, std::uint64_t expected_params);

}  // namespace swarmd::node
