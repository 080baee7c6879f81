#pragma once
// /swarmd/sync/1.0.0, update-set reconciliation for the ZO merge: a node asks a peer for every
// update it holds up to a round and adds what it lacks to its own log, so every node replays the
// same set. Request: swarm id (32 bytes) | u64be through_round. Response: u64be update count,
// then uvarint-length-prefixed chunks, each a run of records u8 author_len | author | zo message
// (node/zo_engine.hpp), until the count is reached. Everything is checked and capped.
#include <functional>
#include <memory>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "crypto/peer_id.hpp"
#include "crypto/result.hpp"
#include "training/zo.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

inline constexpr std::size_t kMaxSyncUpdates = 1 << 20;
inline constexpr std::size_t kSyncChunkUpdates = 1024;

Bytes encode_sync_records(std::span<const training::Update> updates);
Result<std::vector<training::Update>> decode_sync_records(ByteSpan bytes);

using SnapshotFn = std::function<void(std::uint64_t through,
                                      std::function<void(std::vector<training::Update>)> done)>;
void serve_sync(net::Host& host, Bytes swarm_id, SnapshotFn snapshot);
boost::asio::awaitable<Result<std::vector<training::Update>>> fetch_updates(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, std::uint64_t through);

}  // namespace swarmd::node
