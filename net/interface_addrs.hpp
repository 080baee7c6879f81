#pragma once
// The dialable forms of a listen address: an unspecified one (/ip4/0.0.0.0/tcp/P) becomes this
// machine's IPv4 interface addresses on the same port, as other peers can dial them; any other
// address is returned as is. A /p2p/ suffix is kept.
#include <vector>

#include "net/multiaddr.hpp"

namespace swarmd::net {

std::vector<Multiaddr> dialable_addrs(const Multiaddr& bound);

// The addresses a node announces to other peers (DHT provider records): every listen address in
// dialable form, without loopback ones unless nothing else is left (a local testnet).
std::vector<Multiaddr> announced_addrs(const std::vector<Multiaddr>& listen);

}  // namespace swarmd::net
