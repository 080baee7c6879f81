// A host with a peer-id allowlist (ConnectionOptions::allow_peers) on loopback: a listed peer
// connects either way; any other peer is closed right after the Noise handshake, whoever dialed,
// and the refusals are counted apart from failures.
#include <memory>
#include <string>
#include <unordered_set>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
namespace asio = boost::asio;
using swarmd::net::testing::run;

namespace {

HostOptions quiet_options() {
    HostOptions options;
    options.identify_on_connect = false;
    return options;
}

HostOptions allowing(const crypto::PeerId& peer) {
    HostOptions options = quiet_options();
    options.connection.allow_peers =
        std::make_shared<const std::unordered_set<crypto::PeerId>>(std::unordered_set{peer});
    return options;
}

const Multiaddr& loopback() {
    static const Multiaddr addr = Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value();
    return addr;
}

struct Trio {
    asio::io_context io;
    crypto::PrivateKey friend_key = crypto::PrivateKey::generate();
    Host member;  // admits `friend_host` only
    Host friend_host;
    Host outsider;
    Multiaddr member_addr;
    Multiaddr friend_addr;
    Multiaddr outsider_addr;

    Trio()
        : member(io.get_executor(), crypto::PrivateKey::generate(),
                 allowing(crypto::PeerId::from_public_key(friend_key.public_key()))),
          friend_host(io.get_executor(), friend_key.clone(), quiet_options()),
          outsider(io.get_executor(), crypto::PrivateKey::generate(), quiet_options()),
          member_addr(member.listen(loopback()).value()),
          friend_addr(friend_host.listen(loopback()).value()),
          outsider_addr(outsider.listen(loopback()).value()) {}
};

}  // namespace

TEST_CASE("an allowlist admits its peers and refuses every other one in both directions",
          "[host][allowlist]") {
    Trio t;
    std::string failure;
    std::error_code outsider_in;  // what the outsider's dial to the member ended with
    std::error_code member_out;   // what the member's dial to the outsider ended with
    run(t.io, [&]() -> asio::awaitable<void> {
        auto fail = [&](std::string what) { failure = std::move(what); };
        // The listed peer, both ways: the member dials it, and it dials the member.
        auto out = co_await t.member.dial(t.friend_addr);
        if (!out) co_return fail("member -> friend: " + out.error().message());
        auto rtts = co_await t.member.ping(out.value(), 1);
        if (!rtts) co_return fail("member pings friend: " + rtts.error().message());
        out.value()->close();
        co_await testing::wait_until([&] { return t.member.connections().empty(); });
        auto in = co_await t.friend_host.dial(t.member_addr);
        if (!in) co_return fail("friend -> member: " + in.error().message());
        auto pong = co_await t.friend_host.ping(in.value(), 1);
        if (!pong) co_return fail("friend pings member: " + pong.error().message());

        // The outsider dials in: Noise completes on its side, then the member hangs up.
        auto refused_in = co_await t.outsider.dial(t.member_addr);
        if (refused_in) co_return fail("outsider -> member connected");
        outsider_in = refused_in.error();
        // The member dials the outsider: refused as soon as the outsider proves its id.
        auto refused_out = co_await t.member.dial(t.outsider_addr);
        if (refused_out) co_return fail("member -> outsider connected");
        member_out = refused_out.error();
        co_await testing::wait_until([&] {
            return t.member.stats().refused_not_allowed == 2 && t.outsider.connections().empty();
        });
    });
    INFO(failure);
    CHECK(failure.empty());
    INFO("outsider's dial: " << outsider_in.message());
    CHECK(outsider_in != Errc::timeout);
    CHECK(member_out == Errc::peer_not_allowed);
    CHECK(t.member.stats().refused_not_allowed == 2);
    // Refusals are not failures of the connection.
    CHECK(t.member.stats().failed_by_reason.empty());
    CHECK(t.member.connection_to(t.outsider.peer_id()) == nullptr);
    CHECK(t.outsider.connection_to(t.member.peer_id()) == nullptr);
    CHECK(t.member.connection_to(t.friend_host.peer_id()) != nullptr);
}
