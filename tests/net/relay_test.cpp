#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "crypto/keys.hpp"
#include "net/envelope.hpp"
#include "net/error.hpp"
#include "net/peer_record.hpp"
#include "net/relay.hpp"
#include "net/relay.pb.h"

using namespace swarmd;
using namespace swarmd::net::relay;
using swarmd::net::kMaxEnvelopeSize;
using swarmd::net::kPeerRecordDomain;
using swarmd::net::Multiaddr;
using swarmd::net::open_envelope;
using swarmd::net::open_peer_record;
using swarmd::net::seal_envelope;

namespace {

crypto::PrivateKey key_n(std::uint8_t n) { return crypto::PrivateKey::from_seed(Bytes(32, n)); }

crypto::PeerId peer_n(std::uint8_t n) {
    return crypto::PeerId::from_public_key(key_n(n).public_key());
}

Multiaddr addr(std::string_view text) { return Multiaddr::parse(text).value(); }

Requester from_n(std::uint8_t n, std::string ip = "127.0.0.2") {
    return Requester{peer_n(n), std::move(ip), false};
}

Bytes serialize(const google::protobuf::MessageLite& msg) {
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

const Time t0 = from_unix_seconds(1'800'000'000);
const std::vector<Multiaddr> kRelayAddrs = {addr("/ip4/127.0.0.1/tcp/4001")};

}  // namespace

// ---- codec ------------------------------------------------------------------------------------

TEST_CASE("hop messages round-trip every field", "[relay]") {
    HopMessage m = hop_status(Status::ok);
    m.peer = PeerInfo{peer_n(1), {addr("/ip4/127.0.0.1/tcp/1"), addr("/ip6/::1/tcp/2")}};
    m.reservation =
        Reservation{1234, {addr("/ip4/127.0.0.1/tcp/3").with_peer_id(peer_n(2))}, Bytes{9, 8, 7}};
    m.limit = Limit{120, 131072};
    auto bytes = encode_hop(m);
    REQUIRE(bytes);
    auto back = decode_hop(bytes.value());
    REQUIRE(back);
    const HopMessage& b = back.value();
    CHECK(b.type == HopMessage::Type::status);
    CHECK(b.status == Status::ok);
    REQUIRE(b.peer);
    CHECK(b.peer->id == peer_n(1));
    CHECK(b.peer->addrs == m.peer->addrs);
    REQUIRE(b.reservation);
    CHECK(b.reservation->expire == 1234);
    CHECK(b.reservation->addrs == m.reservation->addrs);
    CHECK(b.reservation->voucher == Bytes{9, 8, 7});
    CHECK(b.limit == Limit{120, 131072});
}

TEST_CASE("stop messages round-trip every field", "[relay]") {
    StopMessage m;
    m.type = StopMessage::Type::connect;
    m.peer = PeerInfo{peer_n(3), {}};
    m.limit = Limit{60, 0};
    auto back = decode_stop(encode_stop(m).value());
    REQUIRE(back);
    CHECK(back.value().type == StopMessage::Type::connect);
    CHECK(back.value().peer->id == peer_n(3));
    CHECK(back.value().limit == Limit{60, 0});
    CHECK_FALSE(back.value().status);

    auto status = decode_stop(encode_stop(stop_status(Status::connection_failed)).value());
    REQUIRE(status);
    CHECK(status.value().type == StopMessage::Type::status);
    CHECK(status.value().status == Status::connection_failed);
}

TEST_CASE("hop messages use the spec's field numbers and values", "[relay]") {
    HopMessage reserve;
    reserve.type = HopMessage::Type::reserve;
    // type = RESERVE (0) is written explicitly: a proto3 reader with `optional` sees it set.
    CHECK(encode_hop(reserve).value() == Bytes{0x08, 0x00});
    // type = STATUS (2), status (field 5) = OK (100).
    CHECK(encode_hop(hop_status(Status::ok)).value() == Bytes{0x08, 0x02, 0x28, 0x64});
    // StopMessage status is field 4; NO_RESERVATION is 204 (0xcc 0x01).
    CHECK(encode_stop(stop_status(Status::no_reservation)).value() ==
          Bytes{0x08, 0x01, 0x20, 0xcc, 0x01});
    auto decoded = decode_hop(Bytes{0x08, 0x02, 0x28, 0xcc, 0x01});
    REQUIRE(decoded);
    CHECK(decoded.value().status == Status::no_reservation);
}

TEST_CASE("hop decoding refuses what a hostile peer can send", "[relay]") {
    Limits limits;
    CHECK(decode_hop(Bytes(limits.max_message_size + 1, 0)).error() == Errc::message_too_large);
    CHECK(decode_hop(Bytes{0x0a, 0x05, 0x01}).error() == Errc::malformed_message);
    // No type at all.
    CHECK(decode_hop(Bytes{}).error() == Errc::missing_field);
    // type = 7: not a HopMessage type.
    CHECK(decode_hop(Bytes{0x08, 0x07}).error() == Errc::unknown_message_type);
    // CONNECT without a peer, STATUS without a status.
    CHECK(decode_hop(Bytes{0x08, 0x01}).error() == Errc::missing_field);
    CHECK(decode_hop(Bytes{0x08, 0x02}).error() == Errc::missing_field);

    pb::HopMessage msg;
    msg.set_type(pb::HopMessage::CONNECT);
    msg.mutable_peer()->set_id("not a multihash");
    CHECK(decode_hop(serialize(msg)).error() == Errc::bad_peer_id);

    const Bytes id = peer_n(1).bytes();
    msg.mutable_peer()->set_id(std::string(id.begin(), id.end()));
    const Bytes a = addr("/ip4/127.0.0.1/tcp/1").to_bytes();
    for (std::size_t i = 0; i <= limits.max_addrs; ++i)
        msg.mutable_peer()->add_addrs(std::string(a.begin(), a.end()));
    CHECK(decode_hop(serialize(msg)).error() == Errc::too_many_addrs);

    // Addresses that do not parse are skipped, not fatal.
    msg.mutable_peer()->clear_addrs();
    msg.mutable_peer()->add_addrs("\xff\xff garbage");
    msg.mutable_peer()->add_addrs(std::string(a.begin(), a.end()));
    auto ok = decode_hop(serialize(msg));
    REQUIRE(ok);
    CHECK(ok.value().peer->addrs.size() == 1);

    pb::HopMessage big;
    big.set_type(pb::HopMessage::STATUS);
    big.set_status(pb::OK);
    big.mutable_reservation()->set_voucher(std::string(kMaxEnvelopeSize + 1, 'x'));
    CHECK(decode_hop(serialize(big)).error() == Errc::voucher_too_large);
}

TEST_CASE("an unknown status code reads as UNUSED, never OK", "[relay]") {
    // status = 999
    auto hop = decode_hop(Bytes{0x08, 0x02, 0x28, 0xe7, 0x07});
    REQUIRE(hop);
    CHECK(hop.value().status == Status::unused);
    auto stop = decode_stop(Bytes{0x08, 0x01, 0x20, 0xe7, 0x07});
    REQUIRE(stop);
    CHECK(stop.value().status == Status::unused);
    CHECK(std::string(status_name(Status::unused)) == "UNUSED");
    CHECK(std::string(status_name(static_cast<Status>(999))) == "UNKNOWN");
}

TEST_CASE("encoding refuses messages a peer would have to refuse", "[relay]") {
    HopMessage m;
    m.type = HopMessage::Type::connect;
    m.peer = PeerInfo{peer_n(1),
                      std::vector<Multiaddr>(Limits{}.max_addrs + 1, addr("/ip4/127.0.0.1/tcp/1"))};
    CHECK(encode_hop(m).error() == Errc::too_many_addrs);
    Limits tiny;
    tiny.max_message_size = 4;
    m.peer->addrs.clear();
    CHECK(encode_hop(m, tiny).error() == Errc::message_too_large);
}

TEST_CASE("relay status codes are error codes with their spec names", "[relay]") {
    const std::error_code ec = Status::no_reservation;
    CHECK(ec.category().name() == std::string("relay status"));
    CHECK(ec.message().find("NO_RESERVATION") != std::string::npos);
    const std::error_code local = Errc::voucher_mismatch;
    CHECK(local.category().name() == std::string("relay"));
}

// ---- vouchers ---------------------------------------------------------------------------------

TEST_CASE("a voucher is canonical protobuf in a libp2p-relay-rsvp envelope", "[relay]") {
    const Voucher v{peer_n(1), peer_n(2), 1'800'003'600};
    const Bytes payload = encode_voucher(v);
    Bytes expected{0x0a, static_cast<std::uint8_t>(v.relay.bytes().size())};
    append(expected, v.relay.bytes());
    expected.push_back(0x12);
    expected.push_back(static_cast<std::uint8_t>(v.peer.bytes().size()));
    append(expected, v.peer.bytes());
    expected.push_back(0x18);
    varint_append(expected, v.expiration);
    CHECK(payload == expected);

    auto sealed = seal_voucher(v, key_n(1));
    REQUIRE(sealed);
    // The envelope is a relay voucher, type 0x0302, under the relay's key.
    auto opened = open_envelope(sealed.value(), kVoucherDomain, kVoucherPayloadType);
    REQUIRE(opened);
    CHECK(opened.value().payload == payload);
    CHECK(opened.value().signer == key_n(1).public_key());
    CHECK(open_voucher(sealed.value()).value() == v);
    // Not a peer record, and not valid under another domain.
    CHECK(open_peer_record(sealed.value()).error() == net::Errc::bad_record_type);
    CHECK(open_envelope(sealed.value(), kPeerRecordDomain, kVoucherPayloadType).error() ==
          net::Errc::bad_signature);
}

TEST_CASE("voucher checks: signer, relay, peer and expiration", "[relay]") {
    const Voucher v{peer_n(1), peer_n(2), 1000};
    CHECK(seal_voucher(v, key_n(2)).error() == net::Errc::invalid_state);
    // Someone else's signature over a voucher naming relay 1.
    auto forged = seal_envelope(kVoucherDomain, kVoucherPayloadType, encode_voucher(v), key_n(3));
    REQUIRE(forged);
    CHECK(open_voucher(forged.value()).error() == net::Errc::peer_id_mismatch);

    const Bytes sealed = seal_voucher(v, key_n(1)).value();
    CHECK(verify_voucher(sealed, peer_n(1), peer_n(2), 1000));
    CHECK(verify_voucher(sealed, peer_n(1), peer_n(3), 1000).error() == Errc::voucher_mismatch);
    CHECK(verify_voucher(sealed, peer_n(3), peer_n(2), 1000).error() == Errc::voucher_mismatch);
    CHECK(verify_voucher(sealed, peer_n(1), peer_n(2), 1001).error() == Errc::voucher_mismatch);

    Bytes tampered = sealed;
    tampered[tampered.size() - 1] ^= 1;
    CHECK(open_voucher(tampered).error() == net::Errc::bad_signature);
    CHECK(decode_voucher(Bytes{0x18, 0x01}).error() == Errc::bad_voucher);
}

// ---- relay server -----------------------------------------------------------------------------

TEST_CASE("a reservation carries our addresses, a voucher and the circuit limit", "[relay]") {
    RelayServer server(key_n(1));
    const HopMessage answer = server.reserve(from_n(2), kRelayAddrs, t0);
    CHECK(answer.type == HopMessage::Type::status);
    REQUIRE(answer.status == Status::ok);
    REQUIRE(answer.reservation);
    const Reservation& r = *answer.reservation;
    CHECK(r.expire == unix_seconds(t0) + 3600);
    REQUIRE(r.addrs.size() == 1);
    CHECK(r.addrs[0] == kRelayAddrs[0].with_peer_id(peer_n(1)));
    CHECK(verify_voucher(r.voucher, peer_n(1), peer_n(2), r.expire));
    CHECK(answer.limit == Limit{120, 128 * 1024});
    CHECK(server.has_reservation(peer_n(2), t0));
    CHECK_FALSE(server.has_reservation(peer_n(3), t0));
    // And the client accepts it.
    auto granted = check_reservation(answer, peer_n(1), peer_n(2), t0);
    REQUIRE(granted);
    CHECK(circuit_addrs(granted.value().reservation) ==
          std::vector<Multiaddr>{addr("/ip4/127.0.0.1/tcp/4001")
                                     .with_peer_id(peer_n(1))
                                     .encapsulate(addr("/p2p-circuit"))});
}

TEST_CASE("a repeat RESERVE renews the one reservation a peer holds", "[relay]") {
    ServerOptions options;
    options.max_reservations = 1;
    RelayServer server(key_n(1), options);
    REQUIRE(server.reserve(from_n(2), kRelayAddrs, t0).status == Status::ok);
    const HopMessage again = server.reserve(from_n(2), kRelayAddrs, t0 + std::chrono::minutes(45));
    REQUIRE(again.status == Status::ok);
    CHECK(again.reservation->expire == unix_seconds(t0) + 45 * 60 + 3600);
    CHECK(server.reservations() == 1);
    // Full: a second peer is refused, the renewing one is not.
    CHECK(server.reserve(from_n(3), kRelayAddrs, t0).status == Status::reservation_refused);
    CHECK(server.has_reservation(peer_n(2), t0 + std::chrono::minutes(100)));
    CHECK_FALSE(server.has_reservation(peer_n(2), t0 + std::chrono::minutes(105)));
}

TEST_CASE("reservations are capped per IP and refused over relayed connections", "[relay]") {
    ServerOptions options;
    options.max_reservations_per_ip = 2;
    RelayServer server(key_n(1), options);
    CHECK(server.reserve(from_n(2, "127.0.0.5"), kRelayAddrs, t0).status == Status::ok);
    CHECK(server.reserve(from_n(3, "127.0.0.5"), kRelayAddrs, t0).status == Status::ok);
    CHECK(server.reserve(from_n(4, "127.0.0.5"), kRelayAddrs, t0).status ==
          Status::reservation_refused);
    CHECK(server.reserve(from_n(4, "127.0.0.6"), kRelayAddrs, t0).status == Status::ok);
    // A renewal from the same IP is not a new slot.
    CHECK(server.reserve(from_n(2, "127.0.0.5"), kRelayAddrs, t0).status == Status::ok);

    Requester relayed = from_n(9);
    relayed.relayed = true;
    CHECK(server.reserve(relayed, kRelayAddrs, t0).status == Status::permission_denied);
    CHECK(server.reservations() == 3);

    // Expired reservations free their slots; a disconnected peer loses its own.
    server.expire(t0 + std::chrono::hours(2));
    CHECK(server.reservations() == 0);
    CHECK(server.reserve(from_n(4, "127.0.0.5"), kRelayAddrs, t0).status == Status::ok);
    server.drop_reservation(peer_n(4));
    CHECK_FALSE(server.has_reservation(peer_n(4), t0));
}

TEST_CASE("CONNECT needs the target's reservation and respects the circuit caps", "[relay]") {
    ServerOptions options;
    options.max_circuits_per_peer = 2;
    RelayServer server(key_n(1), options);
    CHECK(server.open_circuit(from_n(3), peer_n(2), t0).error() == Status::no_reservation);
    REQUIRE(server.reserve(from_n(2), kRelayAddrs, t0).status == Status::ok);

    auto first = server.open_circuit(from_n(3), peer_n(2), t0);
    REQUIRE(first);
    const RelayServer::Circuit* c = server.circuit(first.value());
    REQUIRE(c);
    CHECK(c->source == peer_n(3));
    CHECK(c->target == peer_n(2));
    CHECK(c->deadline == t0 + std::chrono::seconds(120));
    auto second = server.open_circuit(from_n(4), peer_n(2), t0);
    REQUIRE(second);
    CHECK(server.circuits_of(peer_n(2)) == 2);
    // Target 2 is at its cap.
    CHECK(server.open_circuit(from_n(5), peer_n(2), t0).error() == Status::resource_limit_exceeded);
    server.close_circuit(first.value());
    CHECK(server.circuits_of(peer_n(3)) == 0);
    CHECK(server.open_circuit(from_n(5), peer_n(2), t0));

    Requester relayed = from_n(6);
    relayed.relayed = true;
    CHECK(server.open_circuit(relayed, peer_n(2), t0).error() == Status::permission_denied);
    CHECK(server.open_circuit(from_n(2), peer_n(2), t0).error() == Status::permission_denied);
    // The reservation lapses: no more circuits to that peer.
    CHECK(server.open_circuit(from_n(7), peer_n(2), t0 + std::chrono::hours(2)).error() ==
          Status::no_reservation);
}

TEST_CASE("a circuit forwards up to its data limit in each direction", "[relay]") {
    ServerOptions options;
    options.circuit_limit = Limit{0, 1000};
    RelayServer server(key_n(1), options);
    REQUIRE(server.reserve(from_n(2), kRelayAddrs, t0).status == Status::ok);
    const std::uint64_t id = server.open_circuit(from_n(3), peer_n(2), t0).value();
    CHECK(server.circuit(id)->deadline == Time::max());
    using D = RelayServer::Direction;
    CHECK(server.admit(id, D::to_target, 600) == 600);
    CHECK(server.admit(id, D::to_target, 600) == 400);
    CHECK(server.admit(id, D::to_target, 1) == 0);
    // The other direction has its own budget.
    CHECK(server.admit(id, D::to_source, 1000) == 1000);
    server.close_circuit(id);
    CHECK(server.admit(id, D::to_source, 1) == 0);
    CHECK(server.circuits() == 0);
}

TEST_CASE("handle_hop dispatches by type", "[relay]") {
    RelayServer server(key_n(1));
    HopMessage reserve;
    reserve.type = HopMessage::Type::reserve;
    auto action = server.handle_hop(from_n(2), reserve, kRelayAddrs, t0);
    REQUIRE(action.answer);
    CHECK(action.answer->status == Status::ok);
    CHECK_FALSE(action.circuit);

    HopMessage connect;
    connect.type = HopMessage::Type::connect;
    connect.peer = PeerInfo{peer_n(2), {}};
    action = server.handle_hop(from_n(3), connect, kRelayAddrs, t0);
    CHECK_FALSE(action.answer);
    REQUIRE(action.circuit);
    CHECK(server.circuit(*action.circuit)->target == peer_n(2));

    connect.peer = PeerInfo{peer_n(4), {}};
    action = server.handle_hop(from_n(3), connect, kRelayAddrs, t0);
    REQUIRE(action.answer);
    CHECK(action.answer->status == Status::no_reservation);

    action = server.handle_hop(from_n(3), hop_status(Status::ok), kRelayAddrs, t0);
    REQUIRE(action.answer);
    CHECK(action.answer->status == Status::unexpected_message);
}

// ---- client -----------------------------------------------------------------------------------

TEST_CASE("the client checks the relay's reservation answer", "[relay]") {
    RelayServer server(key_n(1));
    HopMessage answer = server.reserve(from_n(2), kRelayAddrs, t0);
    // A refusal comes back as its status.
    CHECK(check_reservation(hop_status(Status::reservation_refused), peer_n(1), peer_n(2), t0)
              .error() == Status::reservation_refused);
    HopMessage connect;
    connect.type = HopMessage::Type::connect;
    connect.peer = PeerInfo{peer_n(2), {}};
    CHECK(check_reservation(connect, peer_n(1), peer_n(2), t0).error() == Errc::unexpected_message);
    CHECK(check_reservation(hop_status(Status::ok), peer_n(1), peer_n(2), t0).error() ==
          Errc::missing_field);
    // A voucher for someone else, or from another relay.
    CHECK(check_reservation(answer, peer_n(1), peer_n(3), t0).error() == Errc::voucher_mismatch);
    CHECK(check_reservation(answer, peer_n(4), peer_n(2), t0).error() == Errc::voucher_mismatch);
    CHECK(check_reservation(answer, peer_n(1), peer_n(2), t0 + std::chrono::hours(1)).error() ==
          Errc::reservation_expired);
    // Without a voucher (it is advisory) and with a bare address: the relay id is added.
    answer.reservation->voucher.clear();
    answer.reservation->addrs = {addr("/ip4/127.0.0.1/tcp/9")};
    auto granted = check_reservation(answer, peer_n(1), peer_n(2), t0);
    REQUIRE(granted);
    CHECK(granted.value().reservation.addrs[0] ==
          addr("/ip4/127.0.0.1/tcp/9").with_peer_id(peer_n(1)));
    CHECK(granted.value().limit == Limit{120, 128 * 1024});
}

TEST_CASE("a reservation is renewed three quarters of the way to its expiry", "[relay]") {
    Reservation r;
    r.expire = unix_seconds(t0) + 3600;
    CHECK(renewal_time(r, t0) == t0 + std::chrono::seconds(2700));
    CHECK(renewal_time(r, t0 + std::chrono::hours(2)) == t0 + std::chrono::hours(2));
}

TEST_CASE("circuit addresses split into relay address, relay and target", "[relay]") {
    const Multiaddr relay_addr = addr("/ip4/127.0.0.1/tcp/4001").with_peer_id(peer_n(1));
    const Multiaddr full = relay_addr.encapsulate(addr("/p2p-circuit")).with_peer_id(peer_n(2));
    CHECK(is_circuit_addr(full));
    CHECK_FALSE(is_circuit_addr(relay_addr));
    auto parsed = parse_circuit_addr(full);
    REQUIRE(parsed);
    CHECK(parsed.value().relay_addr == relay_addr);
    CHECK(parsed.value().relay == peer_n(1));
    CHECK(parsed.value().target == peer_n(2));
    CHECK(Multiaddr::parse(full.to_string()).value() == full);

    // No target, no relay id, or something after the target.
    CHECK(parse_circuit_addr(relay_addr.encapsulate(addr("/p2p-circuit"))).error() ==
          Errc::not_a_circuit_address);
    CHECK(parse_circuit_addr(addr("/ip4/127.0.0.1/tcp/4001/p2p-circuit").with_peer_id(peer_n(2)))
              .error() == Errc::not_a_circuit_address);
    CHECK(parse_circuit_addr(full.encapsulate(addr("/tcp/5"))).error() ==
          Errc::not_a_circuit_address);
    CHECK(parse_circuit_addr(relay_addr).error() == Errc::not_a_circuit_address);
}
