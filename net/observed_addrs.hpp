#pragma once
// How others see us, and which of our addresses to tell whom. Sans-I/O: time is passed in.
//
// - IpAddress, Cidr: an IP taken from a multiaddr, and a prefix of them.
// - AddressPolicy: loopback / private / public by the IANA special-purpose registries, with a
//   `treat_as_public` list of prefixes (empty by default) so a lab or a loopback test can run
//   AutoNAT on addresses the internet would never route; and the choice of which of our
//   addresses to advertise to a given peer.
// - ObservedAddrs: identify's observedAddr reports. An address is confirmed once enough distinct
//   observers report it (an observer is an IPv4 address or an IPv6 /56, so one host with many
//   peer ids, or one IPv6 customer prefix, counts once); reports expire.
#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "net/multiaddr.hpp"

namespace swarmd::net {

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // an IPv4 address in the first 4

    // "1.2.3.4" or "2001:db8::1".
    static std::optional<IpAddress> parse(std::string_view text);
    // The IP of an address starting /ip4 or /ip6 (an IPv4-mapped IPv6 address reads as IPv4).
    static std::optional<IpAddress> of(const Multiaddr& addr);

    std::size_t size() const noexcept { return v6 ? 16 : 4; }
    bool unspecified() const noexcept;
    // The prefix that counts as one observer or one server: the address itself for IPv4, its
    // /56 for IPv6 (what one customer of an ISP usually holds).
    IpAddress group() const noexcept;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

struct Cidr {
    IpAddress base;  // masked to its prefix
    unsigned prefix = 0;

    // "127.0.0.0/8", "fd00::/8"; a bare address is its own /32 or /128.
    static std::optional<Cidr> parse(std::string_view text);
    bool contains(const IpAddress& ip) const noexcept;
};

// Whether an address goes through a relay (/p2p-circuit): its IP is the relay's, not the peer's.
bool is_relayed(const Multiaddr& addr) noexcept;
// `addr` as /ip4|ip6/<ip>/tcp/<port> (a trailing /p2p dropped), when it is exactly that.
std::optional<Multiaddr> direct_tcp(const Multiaddr& addr);

enum class AddressScope { loopback, private_, public_ };

class AddressPolicy {
  public:
    AddressPolicy() = default;
    explicit AddressPolicy(std::vector<Cidr> treat_as_public)
        : m_treat_as_public(std::move(treat_as_public)) {}

    // Loopback (127/8, ::1), private (every IANA special-purpose range that is not globally
    // reachable: RFC 1918, shared 100.64/10, link-local, documentation, benchmarking,
    // multicast, reserved, unspecified; in IPv6 everything outside 2000::/3 and the
    // documentation and protocol ranges inside it), or public. `treat_as_public` wins over all.
    AddressScope scope(const IpAddress& ip) const noexcept;
    // The scope of an address's IP; a DNS name is public (it is there to be advertised).
    AddressScope scope(const Multiaddr& addr) const noexcept;
    bool is_public(const IpAddress& ip) const noexcept {
        return scope(ip) == AddressScope::public_;
    }

    // Which of `ours` to tell a peer seen at `peer_addr`: public ones to everyone, private
    // ones to peers on private or loopback addresses, loopback ones to loopback peers only.
    // Unspecified addresses (0.0.0.0, ::) are nobody's to dial and never advertised.
    std::vector<Multiaddr> advertise_to(const std::vector<Multiaddr>& ours,
                                        const Multiaddr& peer_addr) const;

    const std::vector<Cidr>& treat_as_public() const noexcept { return m_treat_as_public; }

  private:
    std::vector<Cidr> m_treat_as_public;
};

struct ObservedAddrOptions {
    static constexpr std::size_t kDefaultConfirmations = 4;
    static constexpr std::chrono::minutes kDefaultTtl{30};
    static constexpr std::size_t kDefaultMaxAddrs = 64;
    static constexpr std::size_t kDefaultMaxObservers = 32;

    // Distinct observers (IP groups) needed to confirm an address.
    std::size_t confirmations = kDefaultConfirmations;
    // A report counts for this long.
    std::chrono::steady_clock::duration ttl = kDefaultTtl;
    // The table's bounds: addresses tracked, observers kept per address.
    std::size_t max_addrs = kDefaultMaxAddrs;
    std::size_t max_observers = kDefaultMaxObservers;
};

class ObservedAddrs {
  public:
    using Time = std::chrono::steady_clock::time_point;

    explicit ObservedAddrs(ObservedAddrOptions options = {}) : m_options(options) {}

    // A peer at `observer` (its address on the connection) says it sees us at `observed`.
    // Only /ip4|ip6/<ip>/tcp/<port> observations from IP observers count (a relayed observer
    // sees the relay, not us). Returns whether this report confirmed the address.
    bool report(const Multiaddr& observed, const Multiaddr& observer, Time now);
    // Addresses with enough unexpired observers, most observed first.
    std::vector<Multiaddr> confirmed(Time now) const;
    // Every address still reported by someone, most observed first.
    std::vector<Multiaddr> observed(Time now) const;
    // Distinct unexpired observers of `addr`.
    std::size_t observers(const Multiaddr& addr, Time now) const;
    void expire(Time now);
    std::size_t size() const noexcept { return m_addrs.size(); }

  private:
    struct Entry {
        std::map<IpAddress, Time> observers;  // group -> last report
        Time last_seen{};
    };
    std::size_t live_observers(const Entry& entry, Time now) const;
    std::vector<Multiaddr> ranked(Time now, std::size_t minimum) const;

    ObservedAddrOptions m_options;
    std::map<Multiaddr, Entry> m_addrs;
};

// The addresses worth asking AutoNAT servers to dial back, best first, at most `max`:
// confirmed observed addresses; each observed IP with each listen port of its family (a NAT that
// forwards the port, or a listener on 0.0.0.0); listen addresses with a specific IP. Only public
// ones (by the policy): nobody on the internet could dial the others.
std::vector<Multiaddr> dial_candidates(const std::vector<Multiaddr>& listen,
                                       const ObservedAddrs& observed, const AddressPolicy& policy,
                                       ObservedAddrs::Time now, std::size_t max);

}  // namespace swarmd::net
