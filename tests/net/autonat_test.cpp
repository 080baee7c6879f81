// AutoNAT v1 sans-I/O core: the codec's bounds, the server's refusals and rate limits, the
// client's verdict rules (IP groups, hostile minorities, expiry), observed-address confirmation
// and the address policy's ranges. Addresses here are only ever data: nothing is dialed.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "crypto/keys.hpp"
#include "net/autonat.hpp"
#include "net/autonat.pb.h"
#include "net/observed_addrs.hpp"

using namespace swarmd;
using namespace swarmd::net;
using namespace swarmd::net::autonat;
using namespace std::chrono_literals;

namespace {

crypto::PeerId peer_n(std::uint32_t n) {
    Bytes seed(32, 0);
    for (int i = 0; i < 4; ++i) seed[static_cast<std::size_t>(i)] = (n >> (8 * i)) & 0xff;
    seed[31] = 0xa7;
    return crypto::PeerId::from_public_key(crypto::PrivateKey::from_seed(seed).public_key());
}

Multiaddr ma(std::string_view text) { return Multiaddr::parse(text).value(); }

IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }

Bytes serialize(const pb::Message& msg) {
    Bytes out(msg.ByteSizeLong());
    msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

const Time t0{std::chrono::hours(1)};

}  // namespace

// ---- codec ------------------------------------------------------------------------------------

TEST_CASE("autonat DIAL and DIAL_RESPONSE round-trip", "[autonat]") {
    const Message dial =
        make_dial(peer_n(1), {ma("/ip4/1.2.3.4/tcp/4001"), ma("/ip6/2001:4860::1/tcp/5")});
    auto body = encode_message(dial);
    REQUIRE(body);
    auto back = decode_message(body.value());
    REQUIRE(back);
    CHECK(back.value().type == MessageType::dial);
    REQUIRE(back.value().dial);
    CHECK(back.value().dial->peer == peer_n(1));
    CHECK(back.value().dial->addrs == dial.dial->addrs);
    CHECK_FALSE(back.value().dial_response);

    const Message response =
        make_response(DialResponse{ResponseStatus::ok, "fine", ma("/ip4/1.2.3.4/tcp/4001")});
    body = encode_message(response);
    REQUIRE(body);
    back = decode_message(body.value());
    REQUIRE(back);
    CHECK(back.value().type == MessageType::dial_response);
    REQUIRE(back.value().dial_response);
    CHECK(back.value().dial_response->status == ResponseStatus::ok);
    CHECK(back.value().dial_response->status_text == "fine");
    CHECK(back.value().dial_response->addr == ma("/ip4/1.2.3.4/tcp/4001"));
}

TEST_CASE("autonat wire form matches the spec's field numbers", "[autonat]") {
    // type=DIAL_RESPONSE (field 1 = 1), dialResponse (field 3) { status (1) = E_DIAL_ERROR 100 }
    const Bytes wire{0x08, 0x01, 0x1a, 0x02, 0x08, 0x64};
    auto m = decode_message(wire);
    REQUIRE(m);
    REQUIRE(m.value().dial_response);
    CHECK(m.value().dial_response->status == ResponseStatus::dial_error);
    auto again = encode_message(m.value());
    REQUIRE(again);
    CHECK(again.value() == wire);
}

TEST_CASE("autonat decoder refuses what it must and bounds what it keeps", "[autonat]") {
    SECTION("oversized body") {
        const Bytes big(Limits::kDefaultMaxMessageSize + 1, 0);
        CHECK(decode_message(big).error() == Errc::message_too_large);
    }
    SECTION("not a protobuf") {
        const Bytes junk{0x0a, 0xff, 0x01};
        CHECK(decode_message(junk).error() == Errc::malformed_message);
    }
    SECTION("unknown message type") {
        const Bytes wire{0x08, 0x07};
        CHECK(decode_message(wire).error() == Errc::unknown_message_type);
    }
    SECTION("unknown status is not read as OK") {
        const Bytes wire{0x08, 0x01, 0x1a, 0x02, 0x08, 0x05};
        CHECK(decode_message(wire).error() == Errc::unknown_status);
    }
    SECTION("missing status is not read as OK") {
        const Bytes wire{0x08, 0x01, 0x1a, 0x00};
        CHECK(decode_message(wire).error() == Errc::missing_status);
    }
    SECTION("DIAL without its dial, DIAL_RESPONSE without its response") {
        CHECK(decode_message(Bytes{0x08, 0x00}).error() == Errc::missing_dial);
        CHECK(decode_message(Bytes{0x08, 0x01}).error() == Errc::missing_dial_response);
    }
    SECTION("bad peer id") {
        pb::Message msg;
        msg.set_type(pb::Message::DIAL);
        msg.mutable_dial()->mutable_peer()->set_id("not a multihash");
        CHECK(decode_message(serialize(msg)).error() == Errc::bad_peer_id);
    }
    SECTION("long status text") {
        pb::Message msg;
        msg.set_type(pb::Message::DIAL_RESPONSE);
        msg.mutable_dialresponse()->set_status(pb::Message::E_DIAL_ERROR);
        msg.mutable_dialresponse()->set_statustext(std::string(300, 'x'));
        CHECK(decode_message(serialize(msg)).error() == Errc::status_text_too_long);
    }
    SECTION("many addresses: the first max_addrs are kept, unknown protocols skipped") {
        pb::Message msg;
        msg.set_type(pb::Message::DIAL);
        auto* peer = msg.mutable_dial()->mutable_peer();
        const Bytes id = peer_n(1).bytes();
        peer->set_id(id.data(), id.size());
        const Bytes unknown{0xe0, 0x03, 0x00};  // protocol 0x1e0, not one swarmd knows
        peer->add_addrs(unknown.data(), unknown.size());
        for (int i = 0; i < 40; ++i) {
            const Bytes a = Multiaddr::from_ip_tcp("1.2.3.4", static_cast<std::uint16_t>(1000 + i))
                                .value()
                                .to_bytes();
            peer->add_addrs(a.data(), a.size());
        }
        auto m = decode_message(serialize(msg));
        REQUIRE(m);
        REQUIRE(m.value().dial->addrs.size() == Limits::kDefaultMaxAddrs);
        CHECK(m.value().dial->addrs.front() == ma("/ip4/1.2.3.4/tcp/1000"));
    }
    SECTION("encoder refuses what the decoder would not keep") {
        std::vector<Multiaddr> addrs(Limits::kDefaultMaxAddrs + 1, ma("/ip4/1.2.3.4/tcp/1"));
        CHECK(encode_message(make_dial(peer_n(1), addrs)).error() == Errc::too_many_addrs);
        CHECK(encode_message(make_response({ResponseStatus::dial_error, std::string(300, 'x'), {}}))
                  .error() == Errc::status_text_too_long);
    }
}

TEST_CASE("autonat decoder takes every truncation of a valid message without failing hard",
          "[autonat]") {
    const Message dial = make_dial(peer_n(2), {ma("/ip4/1.2.3.4/tcp/4001")});
    const Bytes body = encode_message(dial).value();
    for (std::size_t n = 0; n < body.size(); ++n) {
        auto m = decode_message(ByteSpan(body).first(n));
        if (m && m.value().dial) CHECK(m.value().dial->addrs.size() <= 1);
    }
}

// ---- server -----------------------------------------------------------------------------------

namespace {

const Multiaddr kRequester = ma("/ip4/8.8.8.8/tcp/50000");

Message dial_from(std::uint32_t n, std::vector<Multiaddr> addrs) {
    return make_dial(peer_n(n), std::move(addrs));
}

}  // namespace

TEST_CASE("autonat server dials back only the requester's own IP, at most 4", "[autonat]") {
    Server server;
    const auto admission =
        server.admit(peer_n(1), kRequester,
                     dial_from(1, {ma("/ip4/9.9.9.9/tcp/1"),          // a third party
                                   ma("/ip4/8.8.8.8/udp/1/quic-v1"),  // not tcp
                                   ma("/ip4/8.8.8.8/tcp/0"),          // no port
                                   ma("/ip4/8.8.8.8/tcp/1"), ma("/ip4/8.8.8.8/tcp/1"),  // twice
                                   ma("/ip4/8.8.8.8/tcp/2/p2p/" + peer_n(9).to_base58()),
                                   ma("/ip4/8.8.8.8/tcp/3/p2p/" + peer_n(1).to_base58()),
                                   ma("/ip4/8.8.8.8/tcp/4"), ma("/ip4/8.8.8.8/tcp/5"),
                                   ma("/ip4/8.8.8.8/tcp/6")}),
                     t0);
    REQUIRE_FALSE(admission.refusal);
    CHECK(admission.dial ==
          std::vector<Multiaddr>{ma("/ip4/8.8.8.8/tcp/1"), ma("/ip4/8.8.8.8/tcp/3"),
                                 ma("/ip4/8.8.8.8/tcp/4"), ma("/ip4/8.8.8.8/tcp/5")});
}

TEST_CASE("autonat server refusals", "[autonat]") {
    Server server;
    const std::vector<Multiaddr> mine{ma("/ip4/8.8.8.8/tcp/4001")};
    const auto status = [&](const crypto::PeerId& sender, const Multiaddr& observed,
                            const Message& m) {
        const auto a = server.admit(sender, observed, m, t0);
        REQUIRE(a.refusal);
        CHECK(a.dial.empty());
        return a.refusal->status;
    };
    CHECK(status(peer_n(1), kRequester, make_response({})) == ResponseStatus::bad_request);
    const Multiaddr relayed =
        ma("/ip4/8.8.8.8/tcp/1/p2p/" + peer_n(7).to_base58() + "/p2p-circuit");
    CHECK(status(peer_n(1), relayed, dial_from(1, mine)) == ResponseStatus::dial_refused);
    CHECK(status(peer_n(1), kRequester, dial_from(2, mine)) == ResponseStatus::bad_request);
    Message anonymous = dial_from(1, mine);
    anonymous.dial->peer.reset();
    CHECK(status(peer_n(1), kRequester, anonymous) == ResponseStatus::bad_request);
    CHECK(status(peer_n(1), ma("/ip4/192.168.1.5/tcp/1"),
                 dial_from(1, {ma("/ip4/192.168.1.5/tcp/4001")})) == ResponseStatus::dial_refused);
    CHECK(status(peer_n(1), ma("/ip4/127.0.0.1/tcp/1"),
                 dial_from(1, {ma("/ip4/127.0.0.1/tcp/4001")})) == ResponseStatus::dial_refused);
    CHECK(status(peer_n(1), kRequester, dial_from(1, {ma("/ip4/9.9.9.9/tcp/4001")})) ==
          ResponseStatus::dial_refused);

    // treat_as_public lets a loopback test opt in.
    Server lab(AddressPolicy({Cidr::parse("127.0.0.0/8").value()}));
    const auto a = lab.admit(peer_n(1), ma("/ip4/127.0.0.3/tcp/1"),
                             dial_from(1, {ma("/ip4/127.0.0.3/tcp/4001")}), t0);
    CHECK_FALSE(a.refusal);
    CHECK(a.dial.size() == 1);
}

TEST_CASE("autonat server rate limits: one in flight and 2/min per peer, 30/min in all",
          "[autonat]") {
    Server server;
    const auto request = [](std::uint32_t n) {
        return dial_from(n, {ma("/ip4/8.8.8.8/tcp/4001")});
    };
    CHECK_FALSE(server.admit(peer_n(1), kRequester, request(1), t0).refusal);
    auto second = server.admit(peer_n(1), kRequester, request(1), t0 + 1s);
    REQUIRE(second.refusal);  // the first is still in flight
    CHECK(second.refusal->status == ResponseStatus::dial_refused);
    server.finished(peer_n(1));
    CHECK_FALSE(server.admit(peer_n(1), kRequester, request(1), t0 + 2s).refusal);
    server.finished(peer_n(1));
    CHECK(server.admit(peer_n(1), kRequester, request(1), t0 + 3s).refusal);  // third this minute
    CHECK_FALSE(server.admit(peer_n(1), kRequester, request(1), t0 + 61s).refusal);
    server.finished(peer_n(1));

    // Global: 30 admitted in a minute from distinct peers, then refusals for anyone.
    Server busy;
    for (std::uint32_t n = 100; n < 130; ++n) {
        CHECK_FALSE(busy.admit(peer_n(n), kRequester, request(n), t0).refusal);
        busy.finished(peer_n(n));
    }
    const auto over = busy.admit(peer_n(200), kRequester, request(200), t0 + 30s);
    REQUIRE(over.refusal);
    CHECK(over.refusal->status == ResponseStatus::dial_refused);
    CHECK_FALSE(busy.admit(peer_n(200), kRequester, request(200), t0 + 60s).refusal);

    // A refused request costs the sender nothing of its allowance.
    Server fresh;
    for (int i = 0; i < 5; ++i)
        CHECK(fresh.admit(peer_n(1), kRequester, dial_from(1, {ma("/ip4/9.9.9.9/tcp/1")}), t0)
                  .refusal);
    CHECK_FALSE(fresh.admit(peer_n(1), kRequester, request(1), t0).refusal);

    CHECK(Server::result(ma("/ip4/8.8.8.8/tcp/4001")).status == ResponseStatus::ok);
    CHECK(Server::result(std::nullopt).status == ResponseStatus::dial_error);
}

// ---- client -----------------------------------------------------------------------------------

namespace {

ServerCandidate server_at(std::uint32_t n, std::string_view addr) {
    return ServerCandidate{peer_n(n), ma(addr)};
}

const std::vector<Multiaddr> kAsked{ma("/ip4/8.8.8.8/tcp/4001")};
const DialResponse kOk{ResponseStatus::ok, "", ma("/ip4/8.8.8.8/tcp/4001")};
const DialResponse kError{ResponseStatus::dial_error, "", std::nullopt};

// Five servers on five IPv4 addresses.
std::vector<ServerCandidate> five() {
    std::vector<ServerCandidate> out;
    for (std::uint32_t n = 1; n <= 5; ++n)
        out.push_back(server_at(n, "/ip4/5.5.5." + std::to_string(n) + "/tcp/4001"));
    return out;
}

}  // namespace

TEST_CASE("autonat client asks up to 4 servers per round, one per IP group", "[autonat]") {
    Client client;
    std::vector<ServerCandidate> candidates = five();
    // Three more peer ids on one address, and two in one IPv6 /56.
    candidates.push_back(server_at(11, "/ip4/5.5.5.1/tcp/4002"));
    candidates.push_back(server_at(12, "/ip6/2a00:1:2:300::1/tcp/1"));
    candidates.push_back(server_at(13, "/ip6/2a00:1:2:3ff::2/tcp/1"));
    const auto asked = client.next(candidates, t0);
    CHECK(asked.size() == 4);
    CHECK(client.in_flight() == 4);
    CHECK(client.next(candidates, t0 + 1s).empty());  // the round is full
    // The whole round answers alike, from 4 groups: public.
    for (const auto& id : asked) client.on_response(id, kOk, kAsked, t0 + 2s);
    CHECK(client.reachability(t0 + 2s) == Reachability::public_);
    // Once decided, the next round is 15 min after this one began.
    CHECK(client.next_wakeup(t0 + 2s) == t0 + 15min);
    CHECK(client.next(candidates, t0 + 14min).empty());
    CHECK(client.next(candidates, t0 + 15min).size() == 4);
}

TEST_CASE("autonat client: many peer ids on one IP count once", "[autonat]") {
    Client client;
    std::vector<ServerCandidate> sybils;
    for (std::uint32_t n = 1; n <= 8; ++n) sybils.push_back(server_at(n, "/ip4/6.6.6.6/tcp/1"));
    for (int round = 0; round < 6; ++round) {
        const Time now = t0 + round * 2min;
        for (const auto& id : client.next(sybils, now)) client.on_response(id, kError, kAsked, now);
    }
    CHECK(client.votes(t0 + 12min) == std::pair<std::size_t, std::size_t>{0, 1});
    CHECK(client.reachability(t0 + 12min) == Reachability::unknown);
}

TEST_CASE("autonat client: two hostile servers among five do not flip the verdict", "[autonat]") {
    ClientOptions options;
    options.servers_per_round = 5;
    Client client(options);
    const auto candidates = five();
    const auto hostile = [](const crypto::PeerId& id) {
        return id == peer_n(4) || id == peer_n(5);
    };
    // Honest servers reach us; the two hostile ones lie, every round.
    for (int round = 0; round < 4; ++round) {
        const Time now = t0 + round * 16min;
        for (const auto& id : client.next(candidates, now))
            client.on_response(id, hostile(id) ? kError : kOk, kAsked, now + 1s);
        CHECK(client.reachability(now + 1s) == Reachability::public_);
    }
    // And the other way round: truly private, two hostile servers claim success.
    Client behind(options);
    for (int round = 0; round < 4; ++round) {
        const Time now = t0 + round * 16min;
        for (const auto& id : behind.next(candidates, now))
            behind.on_response(id, hostile(id) ? kOk : kError, kAsked, now + 1s);
        CHECK(behind.reachability(now + 1s) == Reachability::private_);
    }
}

TEST_CASE("autonat client: a verdict needs 3 agreeing servers that outnumber the rest",
          "[autonat]") {
    ClientOptions options;
    options.servers_per_round = 5;
    Client client(options);
    const auto candidates = five();
    const auto asked = client.next(candidates, t0);
    REQUIRE(asked.size() == 5);
    client.on_response(asked[0], kOk, kAsked, t0);
    client.on_response(asked[1], kOk, kAsked, t0);
    CHECK(client.reachability(t0) == Reachability::unknown);  // two are not enough
    client.on_response(asked[2], kError, kAsked, t0);
    client.on_response(asked[3], kError, kAsked, t0);
    client.on_response(asked[4], kError, kAsked, t0);
    CHECK(client.reachability(t0) == Reachability::private_);  // 3 against 2
    // While unknown, the retry interval is 90 s; a refusal or a timeout does not vote.
    Client other(options);
    const auto again = other.next(candidates, t0);
    other.on_response(again[0], {ResponseStatus::dial_refused, "busy", {}}, kAsked, t0);
    other.on_response(again[1], {ResponseStatus::internal_error, "", {}}, kAsked, t0);
    other.on_failure(again[2]);
    // An OK naming an address we never asked about does not vote either.
    other.on_response(again[3], {ResponseStatus::ok, "", ma("/ip4/9.9.9.9/tcp/1")}, kAsked, t0);
    CHECK(other.votes(t0) == std::pair<std::size_t, std::size_t>{0, 0});
    // Answers from a server never asked are ignored.
    other.on_response(peer_n(99), kOk, kAsked, t0);
    CHECK(other.votes(t0) == std::pair<std::size_t, std::size_t>{0, 0});
    // The fifth times out after 30 s; the next round is 90 s after the first.
    CHECK(other.next_wakeup(t0) == t0 + 30s);
    CHECK(other.next(candidates, t0 + 30s).empty());
    CHECK(other.in_flight() == 0);
    CHECK(other.next_wakeup(t0 + 30s) == t0 + 90s);
    CHECK(other.next(candidates, t0 + 90s).size() == 5);
}

TEST_CASE("autonat client: answers expire after 30 minutes, an address change rechecks",
          "[autonat]") {
    Client client;
    const auto candidates = five();
    for (const auto& id : client.next(candidates, t0)) client.on_response(id, kOk, kAsked, t0);
    CHECK(client.reachability(t0 + 29min) == Reachability::public_);
    CHECK(client.reachability(t0 + 30min) == Reachability::unknown);

    Client changed;
    for (const auto& id : changed.next(candidates, t0)) changed.on_response(id, kOk, kAsked, t0);
    CHECK(changed.next(candidates, t0 + 1min).empty());
    changed.recheck(t0 + 1min);
    CHECK(changed.next_wakeup(t0 + 1min) == t0 + 1min);
    const auto asked = changed.next(candidates, t0 + 1min);
    REQUIRE(asked.size() == 4);
    // The server without a current answer is asked first.
    CHECK(std::find(asked.begin(), asked.end(), peer_n(5)) != asked.end());
}

TEST_CASE("autonat client: a round stays open for servers that connect later", "[autonat]") {
    Client client;
    auto candidates = five();
    candidates.resize(1);
    CHECK(client.next(candidates, t0).size() == 1);
    candidates = five();
    CHECK(client.next(candidates, t0 + 5s).size() == 3);  // the round asks 4 in all
    CHECK(client.next(candidates, t0 + 6s).empty());
    // No server at all when the round opens: the first one that turns up is asked at once.
    Client lonely;
    CHECK(lonely.next({}, t0).empty());
    CHECK(lonely.next_wakeup(t0) == t0 + 90s);
    CHECK(lonely.next(five(), t0 + 10s).size() == 4);
}

// ---- observed addresses -----------------------------------------------------------------------

TEST_CASE("observed address: confirmed by 4 distinct observers, then expires", "[autonat]") {
    ObservedAddrs table;
    const Multiaddr seen = ma("/ip4/8.8.8.8/tcp/4001");
    CHECK_FALSE(table.report(seen, ma("/ip4/1.1.1.1/tcp/1"), t0));
    // The same observer again, and another peer id on its IP, count once.
    CHECK_FALSE(table.report(seen, ma("/ip4/1.1.1.1/tcp/2"), t0 + 1s));
    // Two hosts in one IPv6 /56 count once.
    CHECK_FALSE(table.report(seen, ma("/ip6/2a00:1:2:300::1/tcp/1"), t0 + 2s));
    CHECK_FALSE(table.report(seen, ma("/ip6/2a00:1:2:3aa::9/tcp/1"), t0 + 3s));
    // A relayed observer sees the relay, not us.
    CHECK_FALSE(table.report(
        seen, ma("/ip4/3.3.3.3/tcp/1/p2p/" + peer_n(1).to_base58() + "/p2p-circuit"), t0 + 4s));
    CHECK(table.observers(seen, t0 + 4s) == 2);
    CHECK(table.confirmed(t0 + 4s).empty());
    CHECK_FALSE(table.report(seen, ma("/ip4/2.2.2.2/tcp/1"), t0 + 5s));
    CHECK(table.report(seen.with_peer_id(peer_n(3)), ma("/ip4/4.4.4.4/tcp/1"), t0 + 6s));
    CHECK(table.confirmed(t0 + 6s) == std::vector<Multiaddr>{seen});
    // Only a thin /ip/tcp observation counts.
    CHECK_FALSE(table.report(ma("/ip4/8.8.8.8/udp/1/quic-v1"), ma("/ip4/5.5.5.5/tcp/1"), t0));
    CHECK_FALSE(table.report(ma("/dns4/example.com/tcp/1"), ma("/ip4/5.5.5.5/tcp/1"), t0));
    // The first report (t0) expires after 30 min: 3 observers left.
    CHECK(table.confirmed(t0 + 30min + 1s).empty());
    CHECK(table.observed(t0 + 30min + 1s) == std::vector<Multiaddr>{seen});
    table.expire(t0 + 31min);
    CHECK(table.size() == 0);
}

TEST_CASE("observed address table is bounded and keeps what is well observed", "[autonat]") {
    ObservedAddrOptions options;
    options.max_addrs = 4;
    options.max_observers = 5;
    ObservedAddrs table(options);
    const Multiaddr real = ma("/ip4/8.8.8.8/tcp/4001");
    for (int i = 1; i <= 4; ++i)
        table.report(real, ma("/ip4/1.1.1." + std::to_string(i) + "/tcp/1"), t0);
    // A flood of made-up observations, each from its own observer.
    for (int i = 0; i < 100; ++i) {
        const auto fake =
            ma("/ip4/9.9." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "/tcp/1");
        table.report(
            fake,
            ma("/ip4/2.2." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "/tcp/1"),
            t0 + 1s);
        CHECK(table.size() <= 4);
    }
    CHECK(table.confirmed(t0 + 2s) == std::vector<Multiaddr>{real});
    for (int i = 10; i < 30; ++i)
        table.report(real, ma("/ip4/3.3.3." + std::to_string(i) + "/tcp/1"), t0 + 3s);
    CHECK(table.observers(real, t0 + 3s) == 5);
}

TEST_CASE("dial candidates: confirmed addresses, observed IPs with listen ports, public only",
          "[autonat]") {
    ObservedAddrs table;
    const Multiaddr confirmed = ma("/ip4/8.8.4.4/tcp/4001");
    for (int i = 1; i <= 4; ++i)
        table.report(confirmed, ma("/ip4/1.1.1." + std::to_string(i) + "/tcp/1"), t0);
    // An outbound connection's observation: our IP, but a port nobody listens on.
    table.report(ma("/ip4/8.8.8.8/tcp/55555"), ma("/ip4/2.2.2.2/tcp/1"), t0);
    const std::vector<Multiaddr> listen{ma("/ip4/0.0.0.0/tcp/4001"),
                                        ma("/ip4/192.168.1.2/tcp/4002"), ma("/ip6/::/tcp/4003"),
                                        ma("/ip4/1.2.3.4/tcp/4004/p2p/" + peer_n(1).to_base58())};
    const auto all = dial_candidates(listen, table, AddressPolicy(), t0, 16);
    CHECK(all == std::vector<Multiaddr>{confirmed, ma("/ip4/8.8.4.4/tcp/4002"),
                                        ma("/ip4/8.8.4.4/tcp/4004"), ma("/ip4/8.8.8.8/tcp/4001"),
                                        ma("/ip4/8.8.8.8/tcp/4002"), ma("/ip4/8.8.8.8/tcp/4004"),
                                        ma("/ip4/1.2.3.4/tcp/4004")});
    CHECK(dial_candidates(listen, table, AddressPolicy(), t0, 2).size() == 2);
    // Nothing public to test: a node on a LAN with no observation.
    CHECK(dial_candidates({ma("/ip4/192.168.1.2/tcp/4002"), ma("/ip4/127.0.0.1/tcp/1")},
                          ObservedAddrs(), AddressPolicy(), t0, 16)
              .empty());
}

// ---- address policy ---------------------------------------------------------------------------

TEST_CASE("address policy: IANA special-purpose ranges", "[autonat]") {
    const AddressPolicy policy;
    const auto scope = [&](std::string_view text) { return policy.scope(ip(text)); };
    CHECK(scope("127.0.0.1") == AddressScope::loopback);
    CHECK(scope("127.255.0.9") == AddressScope::loopback);
    CHECK(scope("::1") == AddressScope::loopback);
    for (const char* priv :
         {"0.0.0.0",     "10.1.2.3",       "100.64.0.1",     "100.127.255.255", "169.254.1.1",
          "172.16.0.1",  "172.31.255.255", "192.0.0.8",      "192.0.2.1",       "192.88.99.1",
          "192.168.0.1", "198.18.0.1",     "198.19.255.255", "198.51.100.7",    "203.0.113.9",
          "224.0.0.1",   "239.1.1.1",      "240.0.0.1",      "255.255.255.255", "::",
          "fc00::1",     "fd12:3456::1",   "fe80::1",        "ff02::1",         "2001:db8::1",
          "2001::1",     "3fff::1",        "64:ff9b:1::1",   "::ffff:10.0.0.1"})
        CHECK(scope(priv) == AddressScope::private_);
    for (const char* pub :
         {"1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
          "192.167.255.255", "198.17.255.255", "198.20.0.0", "223.255.255.255",
          "2001:4860:4860::8888", "2a00:1450::1", "::ffff:8.8.8.8"})
        CHECK(scope(pub) == AddressScope::public_);
    CHECK(policy.scope(ma("/dns4/example.com/tcp/1")) == AddressScope::public_);

    const AddressPolicy lab(
        {Cidr::parse("127.0.0.0/8").value(), Cidr::parse("10.9.0.0/16").value()});
    CHECK(lab.scope(ip("127.0.0.5")) == AddressScope::public_);
    CHECK(lab.scope(ip("10.9.200.1")) == AddressScope::public_);
    CHECK(lab.scope(ip("10.8.0.1")) == AddressScope::private_);

    CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
    CHECK_FALSE(Cidr::parse("10.0.0/8"));
    CHECK_FALSE(Cidr::parse("10.0.0.0/"));
    CHECK_FALSE(Cidr::parse("::/129"));
    CHECK(Cidr::parse("10.1.2.3/8").value().base == ip("10.0.0.0"));
    CHECK(Cidr::parse("0.0.0.0/0").value().contains(ip("9.9.9.9")));
    CHECK_FALSE(Cidr::parse("0.0.0.0/0").value().contains(ip("::1")));
    CHECK(Cidr::parse("2001:db8::/29").value().contains(ip("2001:dbf:ffff::1")));
    CHECK_FALSE(Cidr::parse("2001:db8::/29").value().contains(ip("2001:dc0::1")));
}

TEST_CASE("address policy: public to everyone, private to private peers, loopback to loopback",
          "[autonat]") {
    const AddressPolicy policy;
    const Multiaddr pub = ma("/ip4/8.8.8.8/tcp/4001");
    const Multiaddr lan = ma("/ip4/192.168.1.2/tcp/4001");
    const Multiaddr lo = ma("/ip4/127.0.0.1/tcp/4001");
    const Multiaddr any = ma("/ip4/0.0.0.0/tcp/4001");
    const Multiaddr name = ma("/dns4/node.example.com/tcp/4001");
    const std::vector<Multiaddr> ours{pub, lan, lo, any, name};
    CHECK(policy.advertise_to(ours, ma("/ip4/1.1.1.1/tcp/9")) == std::vector<Multiaddr>{pub, name});
    CHECK(policy.advertise_to(ours, ma("/ip4/192.168.1.7/tcp/9")) ==
          std::vector<Multiaddr>{pub, lan, name});
    CHECK(policy.advertise_to(ours, ma("/ip4/127.0.0.1/tcp/9")) ==
          std::vector<Multiaddr>{pub, lan, lo, name});
}

// ---- fuzz seeds -------------------------------------------------------------------------------

namespace {

Result<Message> decode_seed(const std::string& name) {
    std::ifstream in(std::string(SWARMD_SOURCE_DIR) + "/fuzz/corpus/autonat_message/" + name,
                     std::ios::binary);
    REQUIRE(in);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return decode_message(as_bytes(bytes));
}

}  // namespace

TEST_CASE("autonat fuzz seeds decode as their names say", "[autonat]") {
    auto request = decode_seed("dial_request");
    REQUIRE(request);
    REQUIRE(request.value().dial);
    REQUIRE(request.value().dial->peer);
    CHECK(request.value().dial->addrs.size() == 2);
    Server server;
    const auto admission =
        server.admit(*request.value().dial->peer, ma("/ip4/1.2.3.4/tcp/5"), request.value(), t0);
    CHECK(admission.dial == std::vector<Multiaddr>{ma("/ip4/1.2.3.4/tcp/4001")});
    CHECK(decode_seed("dial_many_addrs").value().dial->addrs.size() == Limits::kDefaultMaxAddrs);
    CHECK_FALSE(decode_seed("dial_no_peer_id").value().dial->peer);
    CHECK(decode_seed("dial_bad_addr").error() == Errc::bad_multiaddr);
    CHECK(decode_seed("response_ok").value().dial_response->status == ResponseStatus::ok);
    CHECK(decode_seed("response_dial_error").value().dial_response->status ==
          ResponseStatus::dial_error);
    CHECK(decode_seed("response_refused").value().dial_response->status ==
          ResponseStatus::dial_refused);
    CHECK(decode_seed("response_unknown_status").error() == Errc::unknown_status);
    CHECK(decode_seed("response_missing_status").error() == Errc::missing_status);
    CHECK(decode_seed("unknown_type").error() == Errc::unknown_message_type);
    CHECK_FALSE(decode_seed("truncated"));
}
