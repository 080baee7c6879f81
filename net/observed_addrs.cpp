#include "net/observed_addrs.hpp"

#include <algorithm>
#include <string>

namespace swarmd::net {
namespace {

std::vector<Cidr> parse_all(std::initializer_list<std::string_view> texts) {
    std::vector<Cidr> out;
    for (std::string_view text : texts) out.push_back(Cidr::parse(text).value());
    return out;
}

// IANA IPv4 special-purpose address registry: every block not globally reachable, plus
// multicast and the reserved 240/4 (255.255.255.255 included), which no peer can dial.
const std::vector<Cidr>& ipv4_special() {
    static const std::vector<Cidr> ranges = parse_all({
        "0.0.0.0/8",        // this network
        "10.0.0.0/8",       // private
        "100.64.0.0/10",    // shared address space (carrier-grade NAT)
        "169.254.0.0/16",   // link-local
        "172.16.0.0/12",    // private
        "192.0.0.0/24",     // IETF protocol assignments
        "192.0.2.0/24",     // TEST-NET-1
        "192.88.99.0/24",   // deprecated 6to4 relay anycast
        "192.168.0.0/16",   // private
        "198.18.0.0/15",    // benchmarking
        "198.51.100.0/24",  // TEST-NET-2
        "203.0.113.0/24",   // TEST-NET-3
        "224.0.0.0/4",      // multicast
        "240.0.0.0/4",      // reserved, limited broadcast
    });
    return ranges;
}

// Inside the global unicast 2000::/3, the blocks the IPv6 registry marks not globally
// reachable; everything outside 2000::/3 (ULA, link-local, multicast, NAT64, discard...) is
// not public either.
const std::vector<Cidr>& ipv6_special() {
    static const std::vector<Cidr> ranges = parse_all({
        "2001::/23",      // IETF protocol assignments (benchmarking, ORCHID, ...)
        "2001:db8::/32",  // documentation
        "3fff::/20",      // documentation
    });
    return ranges;
}

const Cidr& global_unicast() {
    static const Cidr range = Cidr::parse("2000::/3").value();
    return range;
}

bool any_contains(const std::vector<Cidr>& ranges, const IpAddress& ip) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const Cidr& c) { return c.contains(ip); });
}

}  // namespace

bool is_relayed(const Multiaddr& addr) noexcept {
    const auto& parts = addr.components();
    return std::any_of(parts.begin(), parts.end(), [](const MultiaddrComponent& c) {
        return c.protocol == Protocol::p2p_circuit;
    });
}

std::optional<Multiaddr> direct_tcp(const Multiaddr& addr) {
    Multiaddr bare = addr.without_peer_id();
    const auto& parts = bare.components();
    if (parts.size() != 2 || parts[1].protocol != Protocol::tcp) return std::nullopt;
    if (parts[0].protocol != Protocol::ip4 && parts[0].protocol != Protocol::ip6)
        return std::nullopt;
    return bare;
}

// ---- IpAddress, Cidr --------------------------------------------------------------------------

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    const bool v6 = text.find(':') != std::string_view::npos;
    auto addr = Multiaddr::parse(std::string(v6 ? "/ip6/" : "/ip4/") + std::string(text));
    if (!addr) return std::nullopt;
    return of(addr.value());
}

std::optional<IpAddress> IpAddress::of(const Multiaddr& addr) {
    if (addr.components().empty()) return std::nullopt;
    const MultiaddrComponent& first = addr.components().front();
    IpAddress ip;
    if (first.protocol == Protocol::ip4 && first.value.size() == 4) {
        std::copy(first.value.begin(), first.value.end(), ip.bytes.begin());
        return ip;
    }
    if (first.protocol != Protocol::ip6 || first.value.size() != 16) return std::nullopt;
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), first.value.begin())) {
        std::copy(first.value.begin() + 12, first.value.end(), ip.bytes.begin());
        return ip;
    }
    ip.v6 = true;
    std::copy(first.value.begin(), first.value.end(), ip.bytes.begin());
    return ip;
}

bool IpAddress::unspecified() const noexcept {
    return std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size()),
                       [](std::uint8_t b) { return b == 0; });
}

IpAddress IpAddress::group() const noexcept {
    IpAddress out = *this;
    if (v6) std::fill(out.bytes.begin() + 7, out.bytes.end(), std::uint8_t{0});
    return out;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto ip = IpAddress::parse(text.substr(0, slash));
    if (!ip) return std::nullopt;
    const unsigned max = static_cast<unsigned>(ip->size() * 8);
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        prefix = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            prefix = prefix * 10 + static_cast<unsigned>(c - '0');
        }
        if (prefix > max) return std::nullopt;
    }
    Cidr out{*ip, prefix};
    for (unsigned bit = prefix; bit < max; ++bit)
        out.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return out;
}

bool Cidr::contains(const IpAddress& ip) const noexcept {
    if (ip.v6 != base.v6) return false;
    for (unsigned bit = 0; bit < prefix; bit += 8) {
        const unsigned take = std::min(8u, prefix - bit);
        const auto mask = static_cast<std::uint8_t>(0xff00u >> take);
        if ((ip.bytes[bit / 8] & mask) != base.bytes[bit / 8]) return false;
    }
    return true;
}

// ---- AddressPolicy ----------------------------------------------------------------------------

AddressScope AddressPolicy::scope(const IpAddress& ip) const noexcept {
    if (any_contains(m_treat_as_public, ip)) return AddressScope::public_;
    if (!ip.v6) {
        if (ip.bytes[0] == 127) return AddressScope::loopback;
        return any_contains(ipv4_special(), ip) ? AddressScope::private_ : AddressScope::public_;
    }
    IpAddress loopback;
    loopback.v6 = true;
    loopback.bytes[15] = 1;
    if (ip == loopback) return AddressScope::loopback;
    if (!global_unicast().contains(ip) || any_contains(ipv6_special(), ip))
        return AddressScope::private_;
    return AddressScope::public_;
}

AddressScope AddressPolicy::scope(const Multiaddr& addr) const noexcept {
    if (auto ip = IpAddress::of(addr)) return scope(*ip);
    return AddressScope::public_;
}

std::vector<Multiaddr> AddressPolicy::advertise_to(const std::vector<Multiaddr>& ours,
                                                   const Multiaddr& peer_addr) const {
    const AddressScope peer = scope(peer_addr);
    std::vector<Multiaddr> out;
    for (const Multiaddr& addr : ours) {
        const auto ip = IpAddress::of(addr);
        if (ip && ip->unspecified()) continue;
        bool tell = false;
        switch (scope(addr)) {
            case AddressScope::public_:
                tell = true;
                break;
            case AddressScope::private_:
                tell = peer != AddressScope::public_;
                break;
            case AddressScope::loopback:
                tell = peer == AddressScope::loopback;
                break;
        }
        if (tell) out.push_back(addr);
    }
    return out;
}

// ---- ObservedAddrs ----------------------------------------------------------------------------

bool ObservedAddrs::report(const Multiaddr& observed, const Multiaddr& observer, Time now) {
    const auto addr = direct_tcp(observed);
    const auto from = IpAddress::of(observer);
    if (!addr || !from || is_relayed(observer)) return false;
    auto it = m_addrs.find(*addr);
    if (it == m_addrs.end()) {
        expire(now);
        if (m_addrs.size() >= m_options.max_addrs) {
            // Make room by dropping the least observed address (the oldest of those): a flood of
            // made-up observations replaces other made-up ones, not a confirmed address.
            auto victim =
                std::min_element(m_addrs.begin(), m_addrs.end(), [&](const auto& a, const auto& b) {
                    const std::size_t na = a.second.observers.size();
                    const std::size_t nb = b.second.observers.size();
                    return na != nb ? na < nb : a.second.last_seen < b.second.last_seen;
                });
            if (victim == m_addrs.end()) return false;
            m_addrs.erase(victim);
        }
        it = m_addrs.emplace(*addr, Entry{}).first;
    }
    Entry& entry = it->second;
    const bool was_confirmed = live_observers(entry, now) >= m_options.confirmations;
    const IpAddress group = from->group();
    if (!entry.observers.contains(group) && entry.observers.size() >= m_options.max_observers) {
        auto oldest =
            std::min_element(entry.observers.begin(), entry.observers.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        entry.observers.erase(oldest);
    }
    entry.observers[group] = now;
    entry.last_seen = now;
    return !was_confirmed && live_observers(entry, now) >= m_options.confirmations;
}

std::size_t ObservedAddrs::live_observers(const Entry& entry, Time now) const {
    return static_cast<std::size_t>(
        std::count_if(entry.observers.begin(), entry.observers.end(),
                      [&](const auto& o) { return o.second + m_options.ttl > now; }));
}

std::size_t ObservedAddrs::observers(const Multiaddr& addr, Time now) const {
    auto it = m_addrs.find(addr.without_peer_id());
    return it == m_addrs.end() ? 0 : live_observers(it->second, now);
}

std::vector<Multiaddr> ObservedAddrs::ranked(Time now, std::size_t minimum) const {
    std::vector<std::pair<std::size_t, const Multiaddr*>> found;
    for (const auto& [addr, entry] : m_addrs) {
        const std::size_t n = live_observers(entry, now);
        if (n > 0 && n >= minimum) found.emplace_back(n, &addr);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<Multiaddr> out;
    out.reserve(found.size());
    for (const auto& [n, addr] : found) out.push_back(*addr);
    return out;
}

std::vector<Multiaddr> ObservedAddrs::confirmed(Time now) const {
    return ranked(now, m_options.confirmations);
}

std::vector<Multiaddr> ObservedAddrs::observed(Time now) const { return ranked(now, 1); }

void ObservedAddrs::expire(Time now) {
    for (auto it = m_addrs.begin(); it != m_addrs.end();) {
        std::erase_if(it->second.observers,
                      [&](const auto& o) { return o.second + m_options.ttl <= now; });
        it = it->second.observers.empty() ? m_addrs.erase(it) : std::next(it);
    }
}

// ---- dial candidates --------------------------------------------------------------------------

std::vector<Multiaddr> dial_candidates(const std::vector<Multiaddr>& listen,
                                       const ObservedAddrs& observed, const AddressPolicy& policy,
                                       ObservedAddrs::Time now, std::size_t max) {
    std::vector<Multiaddr> out;
    const auto add = [&](const Multiaddr& addr) {
        const auto direct = direct_tcp(addr);
        if (!direct || out.size() == max) return;
        const auto ip = IpAddress::of(*direct);
        if (!ip || ip->unspecified() || !policy.is_public(*ip)) return;
        if (std::find(out.begin(), out.end(), *direct) == out.end()) out.push_back(*direct);
    };
    for (const Multiaddr& addr : observed.confirmed(now)) add(addr);
    for (const Multiaddr& seen : observed.observed(now)) {
        const auto seen_ip = IpAddress::of(seen);
        const auto seen_at = seen.tcp_endpoint();
        for (const Multiaddr& l : listen) {
            const auto ip = IpAddress::of(l);
            const auto at = l.tcp_endpoint();
            if (!seen_ip || !seen_at || !ip || !at || ip->v6 != seen_ip->v6) continue;
            if (auto combined = Multiaddr::from_ip_tcp(seen_at->host, at->port))
                add(combined.value());
        }
    }
    for (const Multiaddr& l : listen) add(l);
    return out;
}

}  // namespace swarmd::net
