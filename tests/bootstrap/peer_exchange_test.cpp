#include <catch2/catch.hpp>

#include "bootstrap/error.hpp"
#include "bootstrap/peer_exchange.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;

TEST_CASE("peer exchange messages round-trip and reject hostile input", "[peer_exchange]") {
    std::vector<PeerInfo> peers;
    for (int i = 0; i < 3; ++i) {
        auto key = crypto::PrivateKey::generate();
        peers.push_back(
            {crypto::PeerId::from_public_key(key.public_key()),
             {"/ip4/10.0.0." + std::to_string(i + 1) + "/tcp/4001", "/ip6/::1/tcp/4002"}});
    }
    auto bytes = encode_peers(peers);
    auto back = decode_peers(bytes).value();
    REQUIRE(back.size() == 3);
    CHECK(back[2].peer == peers[2].peer);
    CHECK(back[2].addrs == peers[2].addrs);

    // Every truncation is an error, and so is trailing garbage.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CHECK(decode_peers(ByteSpan(bytes.data(), n)).error() == Errc::bad_peer_exchange);
    }
    auto longer = bytes;
    longer.push_back(0);
    CHECK(decode_peers(longer).error() == Errc::bad_peer_exchange);
    // A count over the cap is refused before anything is read.
    CHECK(decode_peers(Bytes{static_cast<std::uint8_t>(kMaxExchangedPeers + 1)}).error() ==
          Errc::bad_peer_exchange);
    CHECK(decode_peers(Bytes(kMaxPeersMessage + 1, 0)).error() == Errc::bad_peer_exchange);
    // Only the first kMaxExchangedPeers are sent.
    std::vector<PeerInfo> many(kMaxExchangedPeers + 5, peers[0]);
    CHECK(decode_peers(encode_peers(many)).value().size() == kMaxExchangedPeers);
}
