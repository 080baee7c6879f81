#pragma once
// Which learned addresses a node may dial. Addresses come from other peers (identify listen
// addresses, peer exchange, gossipsub PX), so a hostile peer could otherwise point every node at
// loopback services, the operator's LAN, or any port of a third party. A learned address must
// be TCP with a port of at least 1024, not unspecified or multicast, and no narrower in scope
// than the peer that told us: a peer reached over the public internet can only hand out public
// addresses, one on the LAN also LAN addresses, one on loopback (a local testnet) anything.
// Bootstrap entries the operator wrote are not filtered.
#include <cstddef>
#include <string>
#include <vector>

#include "net/multiaddr.hpp"

namespace swarmd::bootstrap {

enum class Scope { loopback = 0, private_net = 1, public_net = 2 };

inline constexpr std::uint16_t kMinLearnedPort = 1024;
inline constexpr std::size_t kMaxLearnedAddrs = 8;

// The scope of an IP literal; a DNS name or an unparsable host counts as public.
Scope scope_of_host(const std::string& host);
// The scope of a multiaddr's host (public when it has no TCP endpoint).
Scope scope_of(const net::Multiaddr& addr);

// Whether `addr`, learned from a peer of scope `informant`, may be dialed.
bool learned_dialable(const net::Multiaddr& addr, Scope informant);

// The dialable ones of `addrs` (text multiaddrs), deduplicated, at most kMaxLearnedAddrs.
std::vector<std::string> filter_learned(const std::vector<std::string>& addrs, Scope informant);

}  // namespace swarmd::bootstrap
