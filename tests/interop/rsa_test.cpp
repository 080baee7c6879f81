// swarmd against a js-libp2p peer with an RSA-2048 identity (peer.mjs --key rsa), as the public
// DHT's bootstrap peers have: the Noise identity payload, identify's publicKey, the signed peer
// record and gossipsub message signatures all carry an RSA key that swarmd must verify.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/host.hpp"
#include "net/peer_record.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/gossip_fixture.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
using swarmd::net::testing::run;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kLimit = std::chrono::seconds(60);

// An RSA peer id is the sha2-256 multihash of the key: "Qm...", with no key inlined.
void check_rsa_identity(const crypto::PublicKey& key, const crypto::PeerId& id) {
    CHECK(key.type() == crypto::KeyType::rsa);
    CHECK(crypto::PeerId::from_public_key(key) == id);
    CHECK(id.to_base58().rfind("Qm", 0) == 0);
    CHECK_FALSE(id.public_key().has_value());
}

}  // namespace

TEST_CASE("swarmd dials an RSA js-libp2p peer: Noise, identify, peer record, ping both ways",
          "[interop][rsa]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"listen", "--ping-back", "2", "--key", "rsa"});
            auto listening = co_await js.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            const std::string js_id = listening["peerId"];
            REQUIRE(js_id.rfind("Qm", 0) == 0);

            // The dial names the hashed peer id: the Noise payload's RSA key must hash to it.
            auto connection = co_await host.dial(js_addr.value());
            REQUIRE(connection);
            const crypto::PeerId remote = connection.value()->remote_peer();
            CHECK(remote.to_base58() == js_id);

            auto info = co_await host.identify(connection.value());
            REQUIRE(info);
            REQUIRE(info.value().public_key);
            check_rsa_identity(*info.value().public_key, remote);
            // js's signed peer record is an envelope with an RSA key and signature.
            const Bytes* record = host.peer_records().envelope(remote);
            REQUIRE(record != nullptr);
            auto opened = open_peer_record(*record, remote);
            REQUIRE(opened);
            CHECK(opened.value().peer_id == remote);

            auto rtts = co_await host.ping(connection.value(), 2);
            REQUIRE(rtts);
            CHECK(rtts.value().size() == 2);

            auto js_identify = co_await js.expect("identify");
            CHECK(js_identify["peerId"] == host.peer_id().to_base58());
            for (int i = 0; i < 2; ++i) {
                auto ping = co_await js.expect("ping");
                CHECK(ping["peerId"] == host.peer_id().to_base58());
            }
            connection.value()->close();
        },
        kLimit);
}

TEST_CASE("an RSA js-libp2p peer dials swarmd: Noise, identify and ping", "[interop][rsa]") {
    asio::io_context io;
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    auto addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    std::optional<IdentifyInfo> js_info;
    crypto::PeerId js_id_seen;
    host.on_identify([&](const auto& connection, const IdentifyInfo& info) {
        js_info = info;
        js_id_seen = connection->remote_peer();
    });
    run(
        io,
        [&]() -> asio::awaitable<void> {
            JsPeer js(io, {"dial", addr.value().to_string(), "--pings", "2", "--key", "rsa"});
            auto connected = co_await js.expect("connected");
            CHECK(connected["peerId"] == host.peer_id().to_base58());
            const std::string self = connected["self"];
            CHECK(self.rfind("Qm", 0) == 0);
            auto identify = co_await js.expect("identify");
            CHECK(identify["peerId"] == host.peer_id().to_base58());
            for (int i = 0; i < 2; ++i) co_await js.expect("ping");
            co_await js.expect("done");

            co_await testing::wait_until([&] { return js_info.has_value(); });
            REQUIRE(js_info);
            CHECK(js_id_seen.to_base58() == self);
            REQUIRE(js_info->public_key);
            // (A dialing js peer listens nowhere, so it sends no peer record: the listener test
            // above checks the RSA-signed record.)
            check_rsa_identity(*js_info->public_key, js_id_seen);
        },
        kLimit);
}

TEST_CASE("swarmd accepts gossipsub messages signed by an RSA js-libp2p peer",
          "[interop][rsa][gossipsub]") {
    const std::string topic = "swarmd/interop/rsa";
    asio::io_context io;
    testing::GossipNode node(io, 100ms);
    node.subscribe(topic);
    JsPeer js(io, {"gossip", topic, "--heartbeat-ms", "100", "--key", "rsa"});
    run(
        io,
        [&]() -> asio::awaitable<void> {
            auto listening = co_await js.expect("listening");
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            auto connection = co_await node.host->dial(js_addr.value());
            REQUIRE(connection);
            co_await testing::wait_until(
                [&] { return node.pubsub->router().mesh_peers(topic).size() == 1; }, 20s);
            REQUIRE(node.pubsub->router().mesh_peers(topic).size() == 1);

            // js signs with its RSA key and, its id being a hash, attaches the key to the message.
            const nlohmann::json publish = {{"cmd", "publish"}, {"data", "signed with RSA"}};
            js.send(publish);
            auto published = co_await js.expect("published");
            CHECK(published["recipients"].get<int>() == 1);
            co_await testing::wait_until([&] { return !node.received.empty(); }, 20s);
            REQUIRE(node.received.size() == 1);
            CHECK(node.received[0] == "signed with RSA");

            // And the other way: the RSA peer accepts swarmd's Ed25519-signed message.
            REQUIRE(node.pubsub->publish(topic, as_bytes(std::string_view("from swarmd"))));
            auto message = co_await js.expect("message");
            CHECK(message["data"] == "from swarmd");
        },
        kLimit);
}
