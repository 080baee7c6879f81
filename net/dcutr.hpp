#pragma once
// DCUtR /libp2p/dcutr (libp2p/specs relay/DCUtR.md), sans-I/O: the hole-punch message codec and
// the choice of addresses to punch to. net/dcutr_service.* runs the exchange on a Host.
//
// Over a relayed connection the inbound side (B) opens the stream, writes CONNECT with its
// public addresses and times the answer; the other side (A) answers CONNECT with its own; B writes
// SYNC and dials A after half the measured round trip, A dials B as soon as SYNC arrives. Both
// dial from their listen port, so the two SYNs cross and each NAT sees the other's packets as
// answers to its own (TCP simultaneous open). B acts as the client of the upgrade that follows,
// A as the server, whichever socket wins.
#include <cstddef>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "net/dcutr_error.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"

namespace swarmd::net::dcutr {

inline constexpr std::string_view kProtocol = "/libp2p/dcutr";

enum class Type { connect = 100, sync = 300 };

struct HolePunch {
    Type type = Type::connect;
    std::vector<Multiaddr> addrs;  // ObsAddrs: where the sender may be dialed directly
};

// Bounds on one message: the spec's 4 KiB, and at most max_addrs addresses (the rest of a longer
// list is ignored, not refused). An address of a protocol swarmd does not know is skipped.
struct Limits {
    static constexpr std::size_t kMaxMessageSize = 4 * 1024;
    static constexpr std::size_t kDefaultMaxAddrs = 16;

    std::size_t max_message_size = kMaxMessageSize;
    std::size_t max_addrs = kDefaultMaxAddrs;
};

// The protobuf body (no length prefix).
Result<Bytes> encode(const HolePunch& message, const Limits& limits = {});
Result<HolePunch> decode(ByteSpan body, const Limits& limits = {});

// Which of a peer's offered addresses to dial: direct /ip4|ip6|dns|dns4|dns6/.../tcp/<port>
// addresses (no /p2p-circuit, nothing after the port) whose IP `policy` calls public (a DNS name
// counts as public), each once, without /p2p ids, at most `max`.
std::vector<Multiaddr> punch_targets(const std::vector<Multiaddr>& offered,
                                     const AddressPolicy& policy,
                                     std::size_t max = Limits::kDefaultMaxAddrs);

}  // namespace swarmd::net::dcutr
