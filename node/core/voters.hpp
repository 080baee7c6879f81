#pragma once
// Whose word a node takes when it must agree with its peers (the ZO join's checkpoint, SAPO's
// base policy): identities are free and one connection can announce any number of peers, so
// only peers this node is directly connected to, whose gossip score is not negative, count, and
// one per remote IP address (loopback excepted: a local testnet).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/peer_id.hpp"

namespace swarmd::net {
class Host;
}

namespace swarmd::node {

// A connected peer's remote IP, or nothing when it is not connected.
using AddressOf = std::function<std::optional<std::string>(const crypto::PeerId&)>;
using ScoreOf = std::function<double(const crypto::PeerId&)>;

// The remote IP of the host's connection to a peer, or nothing when not connected.
AddressOf connected_address_of(const net::Host& host);

// The peers that count, in peer id order.
std::vector<crypto::PeerId> select_voters(std::vector<crypto::PeerId> peers,
                                          const AddressOf& address_of, const ScoreOf& score_of);

}  // namespace swarmd::node
