// Signed peer records carried by identify (field 8) between two swarmd hosts on loopback.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "net/host.hpp"
#include "net/identify.hpp"
#include "net/peer_record.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
namespace asio = boost::asio;
using swarmd::net::testing::run;

TEST_CASE("identify carries signedPeerRecord both ways", "[identify][peer_record]") {
    IdentifyInfo info;
    info.public_key = crypto::PrivateKey::from_seed(Bytes(32, 7)).public_key();
    info.signed_peer_record = Bytes{1, 2, 3};
    auto decoded = decode_identify(encode_identify(info).value());
    REQUIRE(decoded);
    CHECK(decoded.value().signed_peer_record == info.signed_peer_record);
    info.signed_peer_record.reset();
    CHECK_FALSE(decode_identify(encode_identify(info).value()).value().signed_peer_record);
}

TEST_CASE("hosts exchange and keep verified peer records through identify", "[host][peer_record]") {
    asio::io_context io;
    Host a(io.get_executor(), crypto::PrivateKey::generate());
    Host b(io.get_executor(), crypto::PrivateKey::generate());
    CHECK(b.signed_peer_record().empty());
    auto addr = b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    REQUIRE(addr);
    const Bytes b_record = b.signed_peer_record();
    REQUIRE_FALSE(b_record.empty());

    run(io, [&]() -> asio::awaitable<void> {
        auto connection = co_await a.dial(addr.value());
        REQUIRE(connection);
        auto info = co_await a.identify(connection.value());
        REQUIRE(info);
        CHECK(info.value().signed_peer_record == b_record);
    });
    const Bytes* stored = a.peer_records().envelope(b.peer_id());
    REQUIRE(stored != nullptr);
    auto record = open_peer_record(*stored);
    REQUIRE(record);
    CHECK(record.value().peer_id == b.peer_id());
    REQUIRE(record.value().addresses.size() == 1);
    CHECK(record.value().addresses[0] == addr.value().without_peer_id());

    // A second listen address re-seals with a higher seq.
    REQUIRE(b.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()));
    auto newer = open_peer_record(b.signed_peer_record());
    REQUIRE(newer);
    CHECK(newer.value().seq > record.value().seq);
    CHECK(newer.value().addresses.size() == 2);
}
