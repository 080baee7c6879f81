#include "net/relay.hpp"

#include <algorithm>

#include "net/error.hpp"
#include "net/relay.pb.h"

namespace swarmd::net::relay {
namespace {

// Both messages' type field, and each one's status field (where an unknown status code lands).
constexpr int kTypeField = 1;
constexpr int kHopStatusField = 5;
constexpr int kStopStatusField = 4;

template <class Message>
bool has_unknown_field(const Message& msg, int field) {
    const auto& unknown = msg.GetReflection()->GetUnknownFields(msg);
    for (int i = 0; i < unknown.field_count(); ++i) {
        if (unknown.field(i).number() == field) return true;
    }
    return false;
}

Bytes to_bytes(const std::string& s) {
    const ByteSpan b = as_bytes(s);
    return Bytes(b.begin(), b.end());
}

Result<void> write_addrs(google::protobuf::RepeatedPtrField<std::string>& out,
                         const std::vector<Multiaddr>& addrs, const Limits& limits) {
    if (addrs.size() > limits.max_addrs) return Errc::too_many_addrs;
    for (const Multiaddr& addr : addrs) {
        const Bytes bytes = addr.to_bytes();
        out.Add(std::string(bytes.begin(), bytes.end()));
    }
    return success();
}

Result<std::vector<Multiaddr>> read_addrs(const google::protobuf::RepeatedPtrField<std::string>& in,
                                          const Limits& limits) {
    if (static_cast<std::size_t>(in.size()) > limits.max_addrs) return Errc::too_many_addrs;
    std::vector<Multiaddr> out;
    out.reserve(static_cast<std::size_t>(in.size()));
    for (const std::string& bytes : in) {
        // Transports swarmd does not speak (webrtc, ...) are skipped; garbage is too, since an
        // address is advisory here and the peer id is what the relay acts on.
        if (auto addr = Multiaddr::from_bytes(as_bytes(bytes)))
            out.push_back(std::move(addr).value());
    }
    return out;
}

Result<void> write_peer(pb::Peer& out, const PeerInfo& peer, const Limits& limits) {
    const Bytes& id = peer.id.bytes();
    out.set_id(id.data(), id.size());
    return write_addrs(*out.mutable_addrs(), peer.addrs, limits);
}

Result<PeerInfo> read_peer(const pb::Peer& in, const Limits& limits) {
    if (!in.has_id()) return Errc::missing_field;
    auto id = crypto::PeerId::from_bytes(as_bytes(in.id()));
    if (!id) return Errc::bad_peer_id;
    BOOST_OUTCOME_TRY(addrs, read_addrs(in.addrs(), limits));
    return PeerInfo{std::move(id).value(), std::move(addrs)};
}

void write_limit(pb::Limit& out, const Limit& limit) {
    out.set_duration(limit.duration);
    out.set_data(limit.data);
}

Limit read_limit(const pb::Limit& in) { return Limit{in.duration(), in.data()}; }

// An unknown code arrives in the unknown fields and reads as UNUSED: never OK.
Status read_status(int value) { return static_cast<Status>(static_cast<std::uint32_t>(value)); }

template <class Message>
Result<Bytes> serialize(const Message& msg, const Limits& limits) {
    if (msg.ByteSizeLong() > limits.max_message_size) return Errc::message_too_large;
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

}  // namespace

std::uint64_t unix_seconds(Time t) noexcept {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    return s < 0 ? 0 : static_cast<std::uint64_t>(s);
}

Time from_unix_seconds(std::uint64_t seconds) noexcept {
    // Beyond what a time_point holds (a hostile expire), clamp instead of overflowing.
    constexpr auto kMax = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(Time::duration::max()).count());
    if (seconds >= kMax) return Time::max();
    return Time(std::chrono::duration_cast<Time::duration>(
        std::chrono::seconds(static_cast<std::int64_t>(seconds))));
}

// ---- messages ---------------------------------------------------------------------------------

Result<Bytes> encode_hop(const HopMessage& message, const Limits& limits) {
    pb::HopMessage msg;
    msg.set_type(static_cast<pb::HopMessage::Type>(message.type));
    if (message.peer) {
        BOOST_OUTCOME_TRYV(write_peer(*msg.mutable_peer(), *message.peer, limits));
    }
    if (message.reservation) {
        const Reservation& r = *message.reservation;
        if (r.voucher.size() > kMaxEnvelopeSize) return Errc::voucher_too_large;
        pb::Reservation* out = msg.mutable_reservation();
        out->set_expire(r.expire);
        BOOST_OUTCOME_TRYV(write_addrs(*out->mutable_addrs(), r.addrs, limits));
        if (!r.voucher.empty()) out->set_voucher(r.voucher.data(), r.voucher.size());
    }
    if (message.limit) write_limit(*msg.mutable_limit(), *message.limit);
    if (message.status) msg.set_status(static_cast<pb::Status>(*message.status));
    return serialize(msg, limits);
}

Result<HopMessage> decode_hop(ByteSpan body, const Limits& limits) {
    if (body.size() > limits.max_message_size) return Errc::message_too_large;
    pb::HopMessage msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::malformed_message;
    if (has_unknown_field(msg, kTypeField)) return Errc::unknown_message_type;
    if (!msg.has_type()) return Errc::missing_field;
    HopMessage out;
    out.type = static_cast<HopMessage::Type>(static_cast<int>(msg.type()));
    if (msg.has_peer()) {
        BOOST_OUTCOME_TRY(peer, read_peer(msg.peer(), limits));
        out.peer = std::move(peer);
    }
    if (msg.has_reservation()) {
        const pb::Reservation& r = msg.reservation();
        if (r.voucher().size() > kMaxEnvelopeSize) return Errc::voucher_too_large;
        BOOST_OUTCOME_TRY(addrs, read_addrs(r.addrs(), limits));
        out.reservation = Reservation{r.expire(), std::move(addrs), to_bytes(r.voucher())};
    }
    if (msg.has_limit()) out.limit = read_limit(msg.limit());
    if (msg.has_status() || has_unknown_field(msg, kHopStatusField))
        out.status = read_status(msg.status());
    if (out.type == HopMessage::Type::connect && !out.peer) return Errc::missing_field;
    if (out.type == HopMessage::Type::status && !out.status) return Errc::missing_field;
    return out;
}

Result<Bytes> encode_stop(const StopMessage& message, const Limits& limits) {
    pb::StopMessage msg;
    msg.set_type(static_cast<pb::StopMessage::Type>(message.type));
    if (message.peer) {
        BOOST_OUTCOME_TRYV(write_peer(*msg.mutable_peer(), *message.peer, limits));
    }
    if (message.limit) write_limit(*msg.mutable_limit(), *message.limit);
    if (message.status) msg.set_status(static_cast<pb::Status>(*message.status));
    return serialize(msg, limits);
}

Result<StopMessage> decode_stop(ByteSpan body, const Limits& limits) {
    if (body.size() > limits.max_message_size) return Errc::message_too_large;
    pb::StopMessage msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return Errc::malformed_message;
    if (has_unknown_field(msg, kTypeField)) return Errc::unknown_message_type;
    if (!msg.has_type()) return Errc::missing_field;
    StopMessage out;
    out.type = static_cast<StopMessage::Type>(static_cast<int>(msg.type()));
    if (msg.has_peer()) {
        BOOST_OUTCOME_TRY(peer, read_peer(msg.peer(), limits));
        out.peer = std::move(peer);
    }
    if (msg.has_limit()) out.limit = read_limit(msg.limit());
    if (msg.has_status() || has_unknown_field(msg, kStopStatusField))
        out.status = read_status(msg.status());
    if (out.type == StopMessage::Type::connect && !out.peer) return Errc::missing_field;
    if (out.type == StopMessage::Type::status && !out.status) return Errc::missing_field;
    return out;
}

HopMessage hop_status(Status status) {
    HopMessage m;
    m.type = HopMessage::Type::status;
    m.status = status;
    return m;
}

StopMessage stop_status(Status status) {
    StopMessage m;
    m.type = StopMessage::Type::status;
    m.status = status;
    return m;
}

// ---- vouchers ---------------------------------------------------------------------------------

Bytes encode_voucher(const Voucher& voucher) {
    // Protobuf writes set fields in field order with no unknown fields: the canonical form.
    pb::Voucher msg;
    msg.set_relay(voucher.relay.bytes().data(), voucher.relay.bytes().size());
    msg.set_peer(voucher.peer.bytes().data(), voucher.peer.bytes().size());
    msg.set_expiration(voucher.expiration);
    Bytes out(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(out.data());
    return out;
}

Result<Voucher> decode_voucher(ByteSpan payload) {
    if (payload.size() > kMaxEnvelopeSize) return Errc::voucher_too_large;
    pb::Voucher msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
        return Errc::bad_voucher;
    if (!msg.has_relay() || !msg.has_peer() || !msg.has_expiration()) return Errc::bad_voucher;
    auto relay = crypto::PeerId::from_bytes(as_bytes(msg.relay()));
    auto peer = crypto::PeerId::from_bytes(as_bytes(msg.peer()));
    if (!relay || !peer) return Errc::bad_peer_id;
    return Voucher{std::move(relay).value(), std::move(peer).value(), msg.expiration()};
}

Result<Bytes> seal_voucher(const Voucher& voucher, const crypto::PrivateKey& key) {
    if (voucher.relay != crypto::PeerId::from_public_key(key.public_key()))
        return net::Errc::invalid_state;
    return seal_envelope(kVoucherDomain, kVoucherPayloadType, encode_voucher(voucher), key);
}

Result<Voucher> open_voucher(ByteSpan envelope) {
    BOOST_OUTCOME_TRY(opened, open_envelope(envelope, kVoucherDomain, kVoucherPayloadType));
    BOOST_OUTCOME_TRY(voucher, decode_voucher(opened.payload));
    if (voucher.relay != crypto::PeerId::from_public_key(opened.signer))
        return net::Errc::peer_id_mismatch;
    return voucher;
}

Result<Voucher> verify_voucher(ByteSpan envelope, const crypto::PeerId& relay,
                               const crypto::PeerId& peer, std::uint64_t expiration) {
    BOOST_OUTCOME_TRY(voucher, open_voucher(envelope));
    if (voucher.relay != relay || voucher.peer != peer || voucher.expiration != expiration)
        return Errc::voucher_mismatch;
    return voucher;
}

// ---- relay server -----------------------------------------------------------------------------

RelayServer::RelayServer(crypto::PrivateKey identity, ServerOptions options)
    : m_identity(std::move(identity)),
      m_self(crypto::PeerId::from_public_key(m_identity.public_key())),
      m_options(options) {}

HopMessage RelayServer::reserve(const Requester& from, const std::vector<Multiaddr>& relay_addrs,
                                Time now) {
    if (from.relayed) return hop_status(Status::permission_denied);
    expire(now);
    auto it = m_reservations.find(from.peer);
    if (it == m_reservations.end()) {
        if (m_reservations.size() >= m_options.max_reservations)
            return hop_status(Status::reservation_refused);
    }
    if (it == m_reservations.end() || it->second.ip != from.ip) {
        const auto same_ip = std::count_if(m_reservations.begin(), m_reservations.end(),
                                           [&](const auto& r) { return r.second.ip == from.ip; });
        if (static_cast<std::size_t>(same_ip) >= m_options.max_reservations_per_ip)
            return hop_status(Status::reservation_refused);
    }
    // Whole seconds on the wire: the table keeps the same rounded expiry the voucher states.
    const std::uint64_t expire_at = unix_seconds(now + m_options.reservation_ttl);
    Reservation reservation;
    reservation.expire = expire_at;
    for (const Multiaddr& addr : relay_addrs) {
        if (reservation.addrs.size() == m_options.limits.max_addrs) break;
        if (is_circuit_addr(addr)) continue;
        reservation.addrs.push_back(addr.with_peer_id(m_self));
    }
    auto voucher = seal_voucher(Voucher{m_self, from.peer, expire_at}, m_identity);
    if (!voucher) return hop_status(Status::reservation_refused);
    reservation.voucher = std::move(voucher).value();
    m_reservations[from.peer] = Entry{from.ip, from_unix_seconds(expire_at)};

    HopMessage answer = hop_status(Status::ok);
    answer.reservation = std::move(reservation);
    answer.limit = m_options.circuit_limit;
    return answer;
}

bool RelayServer::has_reservation(const crypto::PeerId& peer, Time now) const {
    auto it = m_reservations.find(peer);
    return it != m_reservations.end() && now < it->second.expire;
}

void RelayServer::drop_reservation(const crypto::PeerId& peer) { m_reservations.erase(peer); }

Result<std::uint64_t> RelayServer::open_circuit(const Requester& from, const crypto::PeerId& target,
                                                Time now) {
    if (from.relayed || target == from.peer || target == m_self) return Status::permission_denied;
    if (!has_reservation(target, now)) return Status::no_reservation;
    if (m_circuits.size() >= m_options.max_circuits ||
        circuits_of(from.peer) >= m_options.max_circuits_per_peer ||
        circuits_of(target) >= m_options.max_circuits_per_peer)
        return Status::resource_limit_exceeded;
    const std::uint64_t id = m_next_circuit++;
    Circuit circuit{from.peer, target, now, Time::max(), {}};
    if (m_options.circuit_limit.duration != 0)
        circuit.deadline = now + std::chrono::seconds(m_options.circuit_limit.duration);
    m_circuits.emplace(id, std::move(circuit));
    ++m_circuits_per_peer[from.peer];
    ++m_circuits_per_peer[target];
    return id;
}

void RelayServer::close_circuit(std::uint64_t id) {
    auto it = m_circuits.find(id);
    if (it == m_circuits.end()) return;
    for (const crypto::PeerId* peer : {&it->second.source, &it->second.target}) {
        auto count = m_circuits_per_peer.find(*peer);
        if (count != m_circuits_per_peer.end() && --count->second == 0)
            m_circuits_per_peer.erase(count);
    }
    m_circuits.erase(it);
}

const RelayServer::Circuit* RelayServer::circuit(std::uint64_t id) const {
    auto it = m_circuits.find(id);
    return it == m_circuits.end() ? nullptr : &it->second;
}

std::size_t RelayServer::circuits_of(const crypto::PeerId& peer) const {
    auto it = m_circuits_per_peer.find(peer);
    return it == m_circuits_per_peer.end() ? 0 : it->second;
}

std::size_t RelayServer::admit(std::uint64_t id, Direction direction, std::size_t n) {
    auto it = m_circuits.find(id);
    if (it == m_circuits.end()) return 0;
    std::uint64_t& sent = it->second.sent[static_cast<std::size_t>(direction)];
    std::size_t allowed = n;
    if (const std::uint64_t cap = m_options.circuit_limit.data; cap != 0)
        allowed = static_cast<std::size_t>(std::min<std::uint64_t>(n, cap - std::min(cap, sent)));
    sent += allowed;
    return allowed;
}

RelayServer::HopAction RelayServer::handle_hop(const Requester& from, const HopMessage& request,
                                               const std::vector<Multiaddr>& relay_addrs,
                                               Time now) {
    switch (request.type) {
        case HopMessage::Type::reserve:
            return {reserve(from, relay_addrs, now), std::nullopt};
        case HopMessage::Type::connect: {
            if (!request.peer) return {hop_status(Status::malformed_message), std::nullopt};
            auto id = open_circuit(from, request.peer->id, now);
            if (!id) return {hop_status(static_cast<Status>(id.error().value())), std::nullopt};
            return {std::nullopt, id.value()};
        }
        case HopMessage::Type::status:
            break;
    }
    return {hop_status(Status::unexpected_message), std::nullopt};
}

void RelayServer::expire(Time now) {
    std::erase_if(m_reservations, [&](const auto& r) { return r.second.expire <= now; });
}

// ---- client -----------------------------------------------------------------------------------

Result<Granted> check_reservation(const HopMessage& answer, const crypto::PeerId& relay,
                                  const crypto::PeerId& self, Time now) {
    if (answer.type != HopMessage::Type::status) return Errc::unexpected_message;
    if (answer.status != Status::ok) return answer.status.value_or(Status::unused);
    if (!answer.reservation) return Errc::missing_field;
    Reservation reservation = *answer.reservation;
    if (from_unix_seconds(reservation.expire) <= now) return Errc::reservation_expired;
    if (!reservation.voucher.empty()) {
        BOOST_OUTCOME_TRYV(verify_voucher(reservation.voucher, relay, self, reservation.expire));
    }
    for (Multiaddr& addr : reservation.addrs) {
        if (addr.peer_id() != relay) addr = addr.with_peer_id(relay);
    }
    return Granted{std::move(reservation), answer.limit};
}

Time renewal_time(const Reservation& reservation, Time now) {
    const Time expire = from_unix_seconds(reservation.expire);
    if (expire <= now) return now;
    return now + (expire - now) * 3 / 4;
}

std::vector<Multiaddr> circuit_addrs(const Reservation& reservation) {
    static const Multiaddr kCircuit = Multiaddr::parse("/p2p-circuit").value();
    std::vector<Multiaddr> out;
    for (const Multiaddr& addr : reservation.addrs) {
        if (is_circuit_addr(addr) || !addr.peer_id()) continue;
        out.push_back(addr.encapsulate(kCircuit));
    }
    return out;
}

bool is_circuit_addr(const Multiaddr& addr) {
    return std::any_of(addr.components().begin(), addr.components().end(),
                       [](const auto& c) { return c.protocol == Protocol::p2p_circuit; });
}

Result<CircuitAddr> parse_circuit_addr(const Multiaddr& addr) {
    const auto& parts = addr.components();
    const auto circuit = std::find_if(parts.begin(), parts.end(), [](const auto& c) {
        return c.protocol == Protocol::p2p_circuit;
    });
    // <relay transport>/p2p/<relay> before it, exactly /p2p/<target> after it.
    if (circuit == parts.end() || circuit == parts.begin() || parts.end() - circuit != 2)
        return Errc::not_a_circuit_address;
    const auto before = circuit - 1;
    const auto after = circuit + 1;
    if (before->protocol != Protocol::p2p || after->protocol != Protocol::p2p)
        return Errc::not_a_circuit_address;
    auto relay = crypto::PeerId::from_bytes(before->value);
    auto target = crypto::PeerId::from_bytes(after->value);
    if (!relay || !target) return Errc::bad_peer_id;
    return CircuitAddr{addr.prefix(static_cast<std::size_t>(circuit - parts.begin())),
                       std::move(relay).value(), std::move(target).value()};
}

}  // namespace swarmd::net::relay
