#pragma once
// /swarmd/merge/1.0.0: the SAPO final merge's request/response protocol. A node commits to the
// weights it brings to the merge (their hash), and any node that holds weights with a given hash
// serves them: weights are content-addressed, so a receiver verifies what it got against the
// commitment and a peer that left can still be merged from a copy another node fetched.
//
// Request (one uvarint-length-prefixed message): swarm id (32) | u8 kind | body.
//   kind 1, commitment: empty body. Response: one message, u8 status (0 ok, 1 none) and, when
//     ok, the commitment: u64be round | hash (32) | u64be parameters | policy name.
//   kind 2, weights: body = hash (32). Response: one message u8 status | u64be count, then, when
//     ok, `count` little-endian float32 in messages of at most kMergeChunkFloats floats.
// Every size is checked before anything is allocated; every exchange has a deadline.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "node/sapo/merge_wire.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

inline constexpr std::chrono::seconds kMergeExchangeTimeout{30};

// SHA-256 over a domain tag, the policy name, the count and the little-endian floats.
crypto::Digest weights_hash(std::string_view policy, std::span<const float> weights);

using SharedWeights = std::shared_ptr<const std::vector<float>>;

// What a node serves, asked on the io thread.
struct MergeServer {
    std::function<std::optional<WeightsCommitment>()> commitment;
    std::function<SharedWeights(const crypto::Digest&)> weights;  // null when not held
};
void serve_merge(net::Host& host, Bytes swarm_id, MergeServer server);

boost::asio::awaitable<Result<WeightsCommitment>> fetch_commitment(net::Host& host,
                                                                   const crypto::PeerId& peer,
                                                                   Bytes swarm_id);
// Weights with `hash`, which must have exactly `parameters` floats (our architecture's count)
// and hash to `hash` under `policy`.
boost::asio::awaitable<Result<std::vector<float>>> fetch_weights(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, const crypto::Digest& hash,
    std::string policy, std::uint64_t parameters);

}  // namespace swarmd::node
