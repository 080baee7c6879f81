// AutoNAT v1 against js-libp2p's @libp2p/autonat server (peer.mjs autonat). js never dials back
// a private or loopback address (its server filters them with isPrivate and has no option to
// keep them), and interop tests may use loopback only; so what is checked is the wire: js reads
// our DIAL (its peer id and addresses) and we read its DIAL_RESPONSE, for each answer js gives
// on loopback. A real dial-back is tested swarmd to swarmd (tests/net/autonat_service_test.cpp).
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/io_context.hpp>

#include "net/autonat.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"
#include "tests/interop/js_peer.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<autonat::DialResponse> ask(Host& host, const crypto::PeerId& server,
                                           const autonat::Message& message) {
    const Bytes body = autonat::encode_message(message).value();
    const std::string protocol(autonat::kProtocol);
    auto stream = co_await send_request(host, server, protocol, body, 10s);
    REQUIRE(stream);
    auto reply = co_await stream.value()->read_length_prefixed(autonat::Limits{}.max_message_size);
    stream.value()->release();
    REQUIRE(reply);
    auto decoded = autonat::decode_message(reply.value());
    REQUIRE(decoded);
    REQUIRE(decoded.value().type == autonat::MessageType::dial_response);
    co_return *decoded.value().dial_response;
}

}  // namespace

TEST_CASE("a js-libp2p AutoNAT server reads swarmd's DIAL and swarmd reads its answers",
          "[interop][autonat]") {
    asio::io_context io;
    JsPeer js(io, {"autonat"});
    Host host(io.get_executor(), crypto::PrivateKey::generate());
    const Multiaddr ours =
        host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value().without_peer_id();
    using autonat::ResponseStatus;

    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string listening_event = "listening";
            const auto listening = co_await js.expect(listening_event);
            const auto js_addr = Multiaddr::parse(listening["addrs"][0].get<std::string>());
            REQUIRE(js_addr);
            const crypto::PeerId js_id = js_addr.value().peer_id().value();
            auto connection = co_await host.dial(js_addr.value());
            REQUIRE(connection);
            // js lists the protocol in identify: that is how our client picks its servers.
            auto info = co_await host.identify(connection.value());
            REQUIRE(info);
            const auto& protocols = info.value().protocols;
            CHECK(std::find(protocols.begin(), protocols.end(), autonat::kProtocol) !=
                  protocols.end());

            // Well formed and about us: js parsed the peer id (it matched the connection's) and
            // the address, and refuses it only because loopback is private to js.
            const std::vector<Multiaddr> mine{ours};
            const auto good = autonat::make_dial(host.peer_id(), mine);
            auto r = co_await ask(host, js_id, good);
            CHECK(r.status == ResponseStatus::dial_refused);
            CHECK(r.status_text == "no dialable addresses");
            // Another peer's id: js decoded the field and compared it.
            const auto liar = autonat::make_dial(js_id, mine);
            r = co_await ask(host, js_id, liar);
            CHECK(r.status == ResponseStatus::bad_request);
            CHECK(r.status_text == "peer id mismatch");
            // No peer id at all.
            auto anonymous = autonat::make_dial(host.peer_id(), mine);
            anonymous.dial->peer.reset();
            r = co_await ask(host, js_id, anonymous);
            CHECK(r.status == ResponseStatus::bad_request);
            CHECK(r.status_text == "missing peer info");
            CHECK(host.connection_to(js_id));
        },
        60s);
}
