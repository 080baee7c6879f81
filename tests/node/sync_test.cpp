#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/sync.hpp"
#include "node/zo_engine.hpp"

using namespace swarmd;
using namespace swarmd::node;

TEST_CASE("zo messages and sync records round-trip and reject hostile input", "[sync]") {
    const auto author = crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).bytes();
    training::Update u{author, 1234567890123ULL, 7, -42};
    auto msg = encode_zo_message(u);
    REQUIRE(msg.size() == kZoMessageSize);
    auto back = decode_zo_message(msg, author);
    REQUIRE(back);
    CHECK(*back == u);
    CHECK(back->q == -42);
    for (std::size_t n = 0; n < msg.size(); ++n) CHECK_FALSE(decode_zo_message(ByteSpan(msg.data(), n), author));
    auto bad = msg;
    bad[0] = 2;  // unknown version
    CHECK_FALSE(decode_zo_message(bad, author));

    std::vector<training::Update> updates{u, {author, 1, 0, 127}, {author, 2, 0, -127}};
    auto records = encode_sync_records(updates);
    CHECK(decode_sync_records(records).value() == updates);
    for (std::size_t n = 1; n < records.size(); ++n) {
        if (n % (1 + author.size() + kZoMessageSize) == 0) continue;  // whole records are valid
        CHECK(decode_sync_records(ByteSpan(records.data(), n)).has_error());
    }
    auto not_a_peer = records;
    not_a_peer[1] = 0x55;  // the author is no longer a multihash
    CHECK(decode_sync_records(not_a_peer).has_error());
    auto zero_author = records;
    zero_author[0] = 0;
    CHECK(decode_sync_records(zero_author).has_error());
}
