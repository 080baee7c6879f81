#include "net/kad.hpp"

#include <algorithm>
#include <bit>

#include "base/encoding.hpp"
#include "net/error.hpp"
#include "net/kad.pb.h"

namespace swarmd::net::kad {
namespace {

constexpr int kTypeField = 1;

void set_peer(pb::Message::Peer& out, const PeerInfo& peer) {
    const Bytes& id = peer.id.bytes();
    out.set_id(id.data(), id.size());
    for (const Multiaddr& addr : peer.addrs) {
        const Bytes bytes = addr.to_bytes();
        out.add_addrs(bytes.data(), bytes.size());
    }
    out.set_connection(static_cast<pb::Message::ConnectionType>(peer.connection));
}

Result<PeerInfo> read_peer(const pb::Message::Peer& in, const Limits& limits) {
    if (static_cast<std::size_t>(in.addrs_size()) > limits.max_addrs_per_peer)
        return Errc::too_many_addrs;
    auto id = crypto::PeerId::from_bytes(as_bytes(in.id()));
    if (!in.has_id() || !id) return Errc::bad_peer_id;
    PeerInfo peer;
    peer.id = std::move(id).value();
    peer.addrs.reserve(static_cast<std::size_t>(in.addrs_size()));
    for (const std::string& bytes : in.addrs()) {
        auto addr = Multiaddr::from_bytes(as_bytes(bytes));
        if (addr) {
            peer.addrs.push_back(std::move(addr).value());
        } else if (addr.error() != net::Errc::unknown_protocol) {
            return Errc::bad_multiaddr;
        }
    }
    const int connection = static_cast<int>(in.connection());
    peer.connection = static_cast<ConnectionType>(connection);
    return peer;
}

Bytes to_bytes(const std::string& s) {
    const ByteSpan b = as_bytes(s);
    return Bytes(b.begin(), b.end());
}

bool has_unknown_type(const pb::Message& msg) {
    const auto& unknown = msg.GetReflection()->GetUnknownFields(msg);
    for (int i = 0; i < unknown.field_count(); ++i) {
        if (unknown.field(i).number() == kTypeField) return true;
    }
    return false;
}

}  // namespace

// ---- messages ---------------------------------------------------------------------------------

Result<Bytes> encode_message(const Message& message, const Limits& limits) {
    if (message.key.size() > limits.max_key_size) return Errc::key_too_long;
    if (message.closer_peers.size() + message.provider_peers.size() > limits.max_peers)
        return Errc::too_many_peers;
    pb::Message msg;
    msg.set_type(static_cast<pb::Message::MessageType>(message.type));
    if (!message.key.empty()) msg.set_key(message.key.data(), message.key.size());
    if (message.record) {
        const Record& r = *message.record;
        if (r.key.size() > limits.max_key_size) return Errc::key_too_long;
        if (r.value.size() > limits.max_record_size) return Errc::record_too_large;
        pb::Record* out = msg.mutable_record();
        out->set_key(r.key.data(), r.key.size());
        out->set_value(r.value.data(), r.value.size());
        if (!r.time_received.empty()) out->set_timereceived(r.time_received);
    }
    for (const PeerInfo& peer : message.closer_peers) {
        if (peer.addrs.size() > limits.max_addrs_per_peer) return Errc::too_many_addrs;
        set_peer(*msg.add_closerpeers(), peer);
    }
    for (const PeerInfo& peer : message.provider_peers) {
        if (peer.addrs.size() > limits.max_addrs_per_peer) return Errc::too_many_addrs;
        set_peer(*msg.add_providerpeers(), peer);
    }
    if (msg.ByteSizeLong() > limits.max_message_size) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<Message> decode_message(ByteSpan body, const Limits& limits) {
    if (body.size() > limits.max_message_size) return Errc::message_too_large;
    pb::Message msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::malformed_message;
    if (has_unknown_type(msg)) return Errc::unknown_message_type;
    if (msg.key().size() > limits.max_key_size) return Errc::key_too_long;
    if (static_cast<std::size_t>(msg.closerpeers_size()) +
            static_cast<std::size_t>(msg.providerpeers_size()) >
        limits.max_peers)
        return Errc::too_many_peers;

    Message out;
    out.type = static_cast<MessageType>(static_cast<int>(msg.type()));
    out.key = to_bytes(msg.key());
    if (msg.has_record()) {
        const pb::Record& r = msg.record();
        if (r.key().size() > limits.max_key_size) return Errc::key_too_long;
        if (r.value().size() > limits.max_record_size) return Errc::record_too_large;
        out.record = Record{to_bytes(r.key()), to_bytes(r.value()), r.timereceived()};
    }
    out.closer_peers.reserve(static_cast<std::size_t>(msg.closerpeers_size()));
    for (const auto& peer : msg.closerpeers()) {
        BOOST_OUTCOME_TRY(info, read_peer(peer, limits));
        out.closer_peers.push_back(std::move(info));
    }
    out.provider_peers.reserve(static_cast<std::size_t>(msg.providerpeers_size()));
    for (const auto& peer : msg.providerpeers()) {
        BOOST_OUTCOME_TRY(info, read_peer(peer, limits));
        out.provider_peers.push_back(std::move(info));
    }
    return out;
}

// ---- key space --------------------------------------------------------------------------------

Distance distance(const Key& a, const Key& b) noexcept {
    Distance d;
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = a.bits()[i] ^ b.bits()[i];
    return d;
}

std::size_t common_prefix_length(const Key& a, const Key& b) noexcept {
    std::size_t bits = 0;
    for (std::size_t i = 0; i < a.bits().size(); ++i) {
        const auto x = static_cast<std::uint8_t>(a.bits()[i] ^ b.bits()[i]);
        if (x != 0) return bits + static_cast<std::size_t>(std::countl_zero(x));
        bits += 8;
    }
    return bits;
}

Key key_in_bucket(const Key& base, std::size_t cpl, ByteSpan random) {
    Key::Bits bits{};
    std::copy_n(random.begin(), std::min(random.size(), bits.size()), bits.begin());
    cpl = std::min(cpl, kKeyBits - 1);
    const auto bit = [](const Key::Bits& b, std::size_t i) {
        return (b[i / 8] >> (7 - i % 8)) & 1;
    };
    for (std::size_t i = 0; i <= cpl; ++i) {
        const int want = i < cpl ? bit(base.bits(), i) : 1 - bit(base.bits(), i);
        const auto mask = static_cast<std::uint8_t>(1u << (7 - i % 8));
        bits[i / 8] = static_cast<std::uint8_t>(want ? bits[i / 8] | mask : bits[i / 8] & ~mask);
    }
    return Key(bits);
}

Bytes rendezvous_key(std::string_view text) {
    const crypto::Digest digest = crypto::sha256(as_bytes(text));
    Bytes multihash{0x12, 0x20};  // sha2-256, 32 bytes
    append(multihash, digest);
    return multihash;
}

std::string key_cid(ByteSpan multihash) {
    Bytes cid{0x01, 0x55};  // CIDv1, raw
    append(cid, multihash);
    return "b" + base32_encode(cid);
}

// ---- routing table ----------------------------------------------------------------------------

RoutingTable::RoutingTable(const crypto::PeerId& self, RoutingOptions options)
    : m_self(self), m_self_key(Key::from_peer(self)), m_options(options), m_buckets(kKeyBits) {}

std::size_t RoutingTable::bucket_index(const Key& key) const {
    return std::min(common_prefix_length(m_self_key, key), kKeyBits - 1);
}

RoutingTable::Entry RoutingTable::make_entry(const PeerInfo& peer, const Key& key, Time now) const {
    Entry e{peer.id, key, peer.addrs, now};
    if (e.addrs.size() > m_options.max_addrs_per_peer) e.addrs.resize(m_options.max_addrs_per_peer);
    return e;
}

RoutingTable::AddResult RoutingTable::add(const PeerInfo& peer, Time now) {
    if (peer.id == m_self) return {Outcome::ignored, std::nullopt};
    const Key key = Key::from_peer(peer.id);
    Bucket& bucket = m_buckets[bucket_index(key)];
    const auto same = [&](const Entry& e) { return e.id == peer.id; };
    if (auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(), same);
        it != bucket.entries.end()) {
        Entry e = std::move(*it);
        bucket.entries.erase(it);
        e.last_seen = now;
        if (!peer.addrs.empty()) e.addrs = make_entry(peer, key, now).addrs;
        bucket.entries.push_back(std::move(e));
        return {Outcome::updated, std::nullopt};
    }
    if (bucket.entries.size() < m_options.bucket_size) {
        bucket.entries.push_back(make_entry(peer, key, now));
        ++m_size;
        return {Outcome::added, std::nullopt};
    }
    std::erase_if(bucket.replacements, same);
    if (m_options.replacement_cache_size > 0) {
        bucket.replacements.push_back(make_entry(peer, key, now));
        if (bucket.replacements.size() > m_options.replacement_cache_size)
            bucket.replacements.pop_front();
    }
    return {Outcome::pending, bucket.entries.front().id};
}

void RoutingTable::touch(const crypto::PeerId& id, Time now) {
    Bucket& bucket = m_buckets[bucket_index(Key::from_peer(id))];
    auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(),
                           [&](const Entry& e) { return e.id == id; });
    if (it == bucket.entries.end()) return;
    Entry e = std::move(*it);
    bucket.entries.erase(it);
    e.last_seen = now;
    bucket.entries.push_back(std::move(e));
}

bool RoutingTable::remove(const crypto::PeerId& id) {
    Bucket& bucket = m_buckets[bucket_index(Key::from_peer(id))];
    const auto same = [&](const Entry& e) { return e.id == id; };
    std::erase_if(bucket.replacements, same);
    auto it = std::find_if(bucket.entries.begin(), bucket.entries.end(), same);
    if (it == bucket.entries.end()) return false;
    bucket.entries.erase(it);
    --m_size;
    if (!bucket.replacements.empty()) {
        bucket.entries.push_back(std::move(bucket.replacements.back()));
        bucket.replacements.pop_back();
        ++m_size;
    }
    return true;
}

const RoutingTable::Entry* RoutingTable::find(const crypto::PeerId& id) const {
    const Bucket& bucket = m_buckets[bucket_index(Key::from_peer(id))];
    for (const Entry& e : bucket.entries) {
        if (e.id == id) return &e;
    }
    return nullptr;
}

bool RoutingTable::contains(const crypto::PeerId& id) const { return find(id) != nullptr; }

std::vector<const RoutingTable::Entry*> RoutingTable::closest(const Key& target,
                                                              std::size_t n) const {
    std::vector<std::pair<Distance, const Entry*>> all;
    all.reserve(m_size);
    for (const Bucket& bucket : m_buckets) {
        for (const Entry& e : bucket.entries) all.emplace_back(distance(e.key, target), &e);
    }
    n = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<const Entry*> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(all[i].second);
    return out;
}

std::optional<std::size_t> RoutingTable::deepest_nonempty_bucket() const {
    for (std::size_t i = m_buckets.size(); i-- > 0;) {
        if (!m_buckets[i].entries.empty()) return i;
    }
    return std::nullopt;
}

// ---- iterative lookup -------------------------------------------------------------------------

Lookup::Lookup(const crypto::PeerId& self, const Key& target, const std::vector<PeerInfo>& seeds,
               LookupOptions options)
    : m_self(self), m_target(target), m_options(options) {
    for (const PeerInfo& peer : seeds) insert(peer);
}

void Lookup::insert(const PeerInfo& peer) {
    if (peer.id == m_self) return;
    const Distance d = distance(Key::from_peer(peer.id), m_target);
    if (auto it = m_candidates.find(d); it != m_candidates.end()) {
        if (it->second.info.addrs.empty()) it->second.info.addrs = peer.addrs;
        return;
    }
    if (m_candidates.size() >= m_options.max_candidates) {
        // Make room by dropping the farthest peer not yet asked, if it is farther than this one.
        auto victim = m_candidates.end();
        for (auto it = m_candidates.rbegin(); it != m_candidates.rend(); ++it) {
            if (it->second.state == State::waiting) {
                victim = std::prev(it.base());
                break;
            }
        }
        if (victim == m_candidates.end() || !(d < victim->first)) return;
        m_candidates.erase(victim);
    }
    m_candidates.emplace(d, Candidate{peer, State::waiting, {}});
}

void Lookup::expire(Time now) {
    for (auto& [d, c] : m_candidates) {
        if (c.state == State::in_flight && c.deadline <= now) {
            c.state = State::failed;
            --m_in_flight;
        }
    }
}

std::vector<PeerInfo> Lookup::next(Time now) {
    expire(now);
    std::vector<PeerInfo> out;
    if (done()) return out;
    std::size_t considered = 0;
    for (auto& [d, c] : m_candidates) {
        if (considered == m_options.k || m_in_flight >= m_options.alpha) break;
        if (c.state == State::failed) continue;
        ++considered;
        if (c.state != State::waiting) continue;
        c.state = State::in_flight;
        c.deadline = now + m_options.request_timeout;
        ++m_in_flight;
        out.push_back(c.info);
    }
    return out;
}

void Lookup::on_response(const crypto::PeerId& from, const std::vector<PeerInfo>& closer,
                         Time /*now*/) {
    auto it = m_candidates.find(distance(Key::from_peer(from), m_target));
    if (it == m_candidates.end() || it->second.state != State::in_flight) return;
    it->second.state = State::answered;
    --m_in_flight;
    for (const PeerInfo& peer : closer) insert(peer);
}

void Lookup::on_failure(const crypto::PeerId& from) {
    auto it = m_candidates.find(distance(Key::from_peer(from), m_target));
    if (it == m_candidates.end() || it->second.state != State::in_flight) return;
    it->second.state = State::failed;
    --m_in_flight;
}

bool Lookup::done() const {
    if (m_finished) return true;
    std::size_t considered = 0;
    for (const auto& [d, c] : m_candidates) {
        if (considered == m_options.k) break;
        if (c.state == State::failed) continue;
        ++considered;
        if (c.state != State::answered) return false;
    }
    return true;
}

std::vector<PeerInfo> Lookup::closest() const {
    std::vector<PeerInfo> out;
    for (const auto& [d, c] : m_candidates) {
        if (out.size() == m_options.k) break;
        if (c.state == State::answered) out.push_back(c.info);
    }
    return out;
}

std::optional<Time> Lookup::next_deadline() const {
    std::optional<Time> earliest;
    for (const auto& [d, c] : m_candidates) {
        if (c.state == State::in_flight && (!earliest || c.deadline < *earliest))
            earliest = c.deadline;
    }
    return earliest;
}

// ---- provider store ---------------------------------------------------------------------------

Result<void> ProviderStore::add(ByteSpan key, const PeerInfo& provider, Time now) {
    if (key.empty()) return Errc::missing_key;
    if (key.size() > m_options.max_key_size) return Errc::key_too_long;
    const std::string k(as_string_view(key));
    auto it = m_by_key.find(k);
    PeerInfo info = provider;
    if (info.addrs.size() > m_options.max_addrs_per_peer)
        info.addrs.resize(m_options.max_addrs_per_peer);
    if (it != m_by_key.end()) {
        auto& list = it->second;
        const std::size_t before = list.size();
        std::erase_if(list,
                      [&](const Provider& p) { return p.added + m_options.record_ttl <= now; });
        m_records -= before - list.size();
        for (Provider& p : list) {
            if (p.info.id == provider.id) {
                p.info = std::move(info);
                p.added = now;
                return success();
            }
        }
        if (list.size() >= m_options.max_per_key) {
            // Full: the provider that announced longest ago makes room. Live providers
            // re-announce; departed ones do not, and must not keep newcomers out for a TTL.
            auto oldest = std::min_element(
                list.begin(), list.end(),
                [](const Provider& a, const Provider& b) { return a.added < b.added; });
            *oldest = Provider{std::move(info), now};
            return success();
        }
    } else if (m_by_key.size() >= m_options.max_keys) {
        return Errc::provider_store_full;
    }
    if (m_records >= m_options.max_records) return Errc::provider_store_full;
    if (it == m_by_key.end()) it = m_by_key.emplace(k, std::vector<Provider>{}).first;
    it->second.push_back(Provider{std::move(info), now});
    ++m_records;
    return success();
}

std::vector<PeerInfo> ProviderStore::get(ByteSpan key, Time now, std::size_t limit) const {
    std::vector<PeerInfo> out;
    auto it = m_by_key.find(std::string(as_string_view(key)));
    if (it == m_by_key.end()) return out;
    // The most recently announced first: a departed provider stops re-announcing, so a long
    // list's live ones are not crowded out of an answer by the dead.
    std::vector<const Provider*> fresh;
    for (const Provider& p : it->second) {
        if (p.added + m_options.record_ttl > now) fresh.push_back(&p);
    }
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const Provider* a, const Provider* b) { return a->added > b->added; });
    for (const Provider* p : fresh) {
        if (out.size() == limit) break;
        out.push_back(p->info);
        if (p->added + m_options.addr_ttl <= now) out.back().addrs.clear();
    }
    return out;
}

void ProviderStore::expire(Time now) {
    for (auto it = m_by_key.begin(); it != m_by_key.end();) {
        auto& list = it->second;
        const std::size_t before = list.size();
        std::erase_if(list,
                      [&](const Provider& p) { return p.added + m_options.record_ttl <= now; });
        m_records -= before - list.size();
        it = list.empty() ? m_by_key.erase(it) : std::next(it);
    }
}

// ---- server -----------------------------------------------------------------------------------

namespace {

std::vector<PeerInfo> closer_peers(const RoutingTable& table, ByteSpan key,
                                   const crypto::PeerId& sender, std::size_t n) {
    std::vector<PeerInfo> out;
    for (const RoutingTable::Entry* e : table.closest(Key::from_bytes(key), n + 1)) {
        if (out.size() == n) break;
        if (e->id == sender || e->addrs.empty()) continue;
        out.push_back(PeerInfo{e->id, e->addrs, ConnectionType::not_connected});
    }
    return out;
}

}  // namespace

Result<std::optional<Message>> handle_request(const crypto::PeerId& sender, const Message& request,
                                              const RoutingTable& table, ProviderStore& providers,
                                              Time now, const ServerOptions& options) {
    Message response;
    response.type = request.type;
    response.key = request.key;
    switch (request.type) {
        case MessageType::ping:
            response.key.clear();
            return std::optional<Message>(std::move(response));
        case MessageType::find_node:
        case MessageType::get_value:
            if (request.key.empty()) return Errc::missing_key;
            response.closer_peers = closer_peers(table, request.key, sender, options.closer_peers);
            return std::optional<Message>(std::move(response));
        case MessageType::get_providers:
            if (request.key.empty()) return Errc::missing_key;
            response.provider_peers =
                providers.get(request.key, now, options.max_providers_per_response);
            response.closer_peers = closer_peers(table, request.key, sender, options.closer_peers);
            return std::optional<Message>(std::move(response));
        case MessageType::add_provider: {
            if (request.key.empty()) return Errc::missing_key;
            bool stored = false;
            for (const PeerInfo& provider : request.provider_peers) {
                if (provider.id != sender) continue;
                BOOST_OUTCOME_TRY(providers.add(request.key, provider, now));
                stored = true;
            }
            if (!stored) return Errc::provider_not_sender;
            return std::optional<Message>();
        }
        case MessageType::put_value:
            break;
    }
    return Errc::unsupported_request;
}

bool response_matches(const Message& request, const Message& response) {
    if (request.type != response.type) return false;
    switch (request.type) {
        case MessageType::find_node:
        case MessageType::get_value:
        case MessageType::get_providers:
            // go and js leave the key out of FIND_NODE answers; a key that is there must match.
            return response.key.empty() || request.key == response.key;
        default:
            return true;
    }
}

}  // namespace swarmd::net::kad
