// PRUNE peer exchange carries the signed peer records the router is given, and only verified
// records for the offered peer id survive open_peer_record on the receiving side.
#include <catch2/catch.hpp>

#include "gossipsub_harness.hpp"
#include "net/error.hpp"
#include "net/peer_record.hpp"

using namespace swarmd;
using namespace swarmd::net::gossipsub;
using namespace swarmd::net::gossipsub::test;

TEST_CASE("PX entries carry the looked-up signed peer records", "[gossipsub][peer_record]") {
    const std::string topic = "swarmd/test/px/1";
    Net net;
    Options hub = test_options(9);
    hub.d = 1;
    hub.d_lo = 1;
    hub.d_hi = 1;
    hub.d_out = 0;
    hub.d_score = 1;
    const auto b = net.add(hub);
    const auto l1 = net.add();
    const auto l2 = net.add();
    for (std::size_t i = 0; i < 3; ++i) net.subscribe(i, topic);

    const auto l1_key = test_key(static_cast<std::uint32_t>(l1));
    const net::PeerRecord record{
        net.nodes[l1].id, 7, {net::Multiaddr::parse("/ip4/127.0.0.1/tcp/4101").value()}};
    const Bytes envelope = net::seal_peer_record(record, l1_key).value();
    net.nodes[b].router->set_peer_record_lookup([&](const crypto::PeerId& peer) -> const Bytes* {
        return peer == net.nodes[l1].id ? &envelope : nullptr;
    });

    net.connect(l1, b);  // the hub's mesh fills with l1
    net.heartbeats(1);
    REQUIRE(net.nodes[b].router->mesh_peers(topic).size() == 1);
    net.connect(l2, b, Protocol::v11, Protocol::v11);
    net.heartbeats(1);  // l2 grafts the full hub and is refused with PX naming l1

    const Connect* offered = nullptr;
    for (const auto& c : net.nodes[l2].connects)
        if (c.peer == net.nodes[l1].id) offered = &c;
    REQUIRE(offered != nullptr);
    CHECK(offered->signed_peer_record == envelope);
    auto opened = net::open_peer_record(offered->signed_peer_record, offered->peer);
    REQUIRE(opened);
    CHECK(opened.value().addresses == record.addresses);
    // The same record offered under another peer id is refused.
    CHECK(net::open_peer_record(envelope, net.nodes[l2].id).error() == net::Errc::peer_id_mismatch);
}
