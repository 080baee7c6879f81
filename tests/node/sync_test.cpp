#include <catch2/catch.hpp>

#include <boost/asio/post.hpp>

#include "../net/attacker.hpp"
#include "../net/host_fixture.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/error.hpp"
#include "net/gossipsub_message.hpp"
#include "net/host.hpp"
#include "node/ops/logging.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/engine.hpp"
#include "node/zo/sync.hpp"
#include "training/params.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

const Bytes kSwarm(32, 0x5a);
const std::string kTopic = zo_topic(ByteSpan(kSwarm));

training::SignedUpdate signed_by(const crypto::PrivateKey& key, std::uint64_t round,
                                 std::uint32_t index, std::int8_t q) {
    training::Update u{crypto::PeerId::from_public_key(key.public_key()).bytes(), round, index, q};
    auto sig = sign_update(key, kTopic, u);
    return {std::move(u), sig};
}

}  // namespace

TEST_CASE("zo messages and sync records round-trip and reject hostile input", "[sync]") {
    const auto key = crypto::PrivateKey::generate();
    const auto author = crypto::PeerId::from_public_key(key.public_key()).bytes();
    training::Update u{author, 1234567890123ULL, 7, -42, 0x0123456789abcdefULL};
    auto msg = encode_zo_message(u);
    REQUIRE(msg.size() == kZoMessageSize);
    auto back = decode_zo_message(msg, author);
    REQUIRE(back);
    CHECK(*back == u);
    CHECK(back->q == -42);
    CHECK(back->ticket == 0x0123456789abcdefULL);
    for (std::size_t n = 0; n < msg.size(); ++n)
        CHECK_FALSE(decode_zo_message(ByteSpan(msg.data(), n), author));
    auto bad = msg;
    bad[0] = 1;  // version 1 carried no ticket
    CHECK_FALSE(decode_zo_message(bad, author));

    std::vector<training::SignedUpdate> updates{
        signed_by(key, 1234567, 7, -42), signed_by(key, 1, 0, 127), signed_by(key, 2, 0, -127)};
    auto records = encode_sync_records(updates);
    const std::size_t record_size = author.size() + kSignedRecordFixed;
    CHECK(records.size() == 3 * record_size);
    CHECK(decode_sync_records(records).value() == updates);
    for (std::size_t n = 1; n < records.size(); ++n) {
        if (n % record_size == 0) continue;  // whole records are valid
        CHECK(decode_sync_records(ByteSpan(records.data(), n)).has_error());
    }
    auto not_a_peer = records;
    not_a_peer[1] = 0x55;  // the author is no longer a multihash
    CHECK(decode_sync_records(not_a_peer).has_error());
    auto zero_author = records;
    zero_author[0] = 0;
    CHECK(decode_sync_records(zero_author).has_error());
    // A hashed peer id (sha2-256 multihash) is a valid id, but its key is not in it: nothing to
    // check the signature with.
    auto hashed = updates[0];
    hashed.update.author = Bytes{0x12, 0x20};
    hashed.update.author.resize(34, 0x77);
    REQUIRE(crypto::PeerId::from_bytes(hashed.update.author));
    const std::vector<training::SignedUpdate> one{hashed};
    CHECK(decode_sync_records(encode_sync_records(one)).has_error());
}

TEST_CASE("the sync verifier rejects forged records", "[sync]") {
    const auto key = crypto::PrivateKey::generate();
    const auto other = crypto::PrivateKey::generate();
    const auto good = signed_by(key, 42, 3, 17);
    CHECK(verify_update(kTopic, good));
    CHECK((good.signature.seqno & kOwnSeqnoBit) != 0);
    // Through the wire format, as a sync answer carries it.
    const std::vector<training::SignedUpdate> sent{good};
    auto received = decode_sync_records(encode_sync_records(sent)).value();
    REQUIRE(received.size() == 1);
    CHECK(verify_update(kTopic, received[0]));

    auto forged = [&](auto&& change) {
        auto f = good;
        change(f);
        const std::vector<training::SignedUpdate> one{f};
        auto decoded = decode_sync_records(encode_sync_records(one));
        REQUIRE(decoded);
        return !verify_update(kTopic, decoded.value()[0]);
    };
    CHECK(forged([](auto& f) { f.signature.bytes[10] ^= 1; }));  // wrong signature
    CHECK(forged([](auto& f) { f.signature.bytes.fill(0); }));
    CHECK(forged([&](auto& f) {  // wrong author: another node's id on this node's signature
        f.update.author = crypto::PeerId::from_public_key(other.public_key()).bytes();
    }));
    CHECK(forged([](auto& f) { f.update.q = 18; }));  // altered q
    CHECK(forged([](auto& f) { f.update.q = static_cast<std::int8_t>(-f.update.q); }));
    CHECK(forged([](auto& f) { f.update.round = 43; }));
    CHECK(forged([](auto& f) { f.update.index = 2; }));
    CHECK(forged([](auto& f) { ++f.signature.seqno; }));
    // Signed by another key in this author's name.
    CHECK(forged([&](auto& f) { f.signature = sign_update(other, kTopic, f.update); }));
    // Signed for another swarm's topic.
    CHECK_FALSE(verify_update("/swarmd/zo/other", good));

    // The signature of a real gossip message, as the router hands it over, verifies as well.
    const auto author = crypto::PeerId::from_public_key(key.public_key());
    const auto data = encode_zo_message(good.update);
    const auto m = net::gossipsub::make_signed_message(key, author, kTopic, data, 987654321, false);
    training::SignedUpdate from_gossip{good.update, {987654321, {}}};
    std::copy(m.signature().begin(), m.signature().end(), from_gossip.signature.bytes.begin());
    CHECK(verify_update(kTopic, from_gossip));
}

TEST_CASE("sync requests round-trip and reject hostile input", "[sync]") {
    Bytes swarm(32, 0xab);
    SyncRequest updates{SyncRequest::Kind::updates, 40, 90};
    auto bytes = encode_sync_request(swarm, updates);
    CHECK(bytes[32] == 4);
    auto back = decode_sync_request(swarm, bytes);
    REQUIRE(back);
    CHECK(back.value().kind == SyncRequest::Kind::updates);
    CHECK(back.value().after == 40);
    CHECK(back.value().through == 90);

    SyncRequest slice;
    slice.kind = SyncRequest::Kind::checkpoint;
    slice.round = 120;
    slice.offset = 4096;
    slice.count = 2048;
    auto slice_bytes = encode_sync_request(swarm, slice);
    auto sb = decode_sync_request(swarm, slice_bytes);
    REQUIRE(sb);
    CHECK(sb.value().kind == SyncRequest::Kind::checkpoint);
    CHECK(sb.value().round == 120);
    CHECK(sb.value().offset == 4096);
    CHECK(sb.value().count == 2048);
    // Version 2 and 3 checkpoint requests are still answered; version 2 and 3 update requests
    // asked for unsigned records or records without tickets, and are refused.
    for (std::uint8_t v : {2, 3}) {
        slice_bytes[32] = v;
        CHECK(decode_sync_request(swarm, slice_bytes).has_value());
        auto old_updates = bytes;
        old_updates[32] = v;
        CHECK(decode_sync_request(swarm, old_updates).error() == net::Errc::protocol_not_supported);
    }

    // Version 1: swarm id and a through round, for unsigned records.
    Bytes v1 = swarm;
    for (int i = 0; i < 7; ++i) v1.push_back(0);
    v1.push_back(77);
    CHECK(decode_sync_request(swarm, v1).has_error());

    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CHECK(decode_sync_request(swarm, ByteSpan(bytes.data(), n)).has_error());
    }
    Bytes other(32, 0xcd);
    CHECK(decode_sync_request(other, bytes).has_error());  // another swarm
    auto bad_version = bytes;
    bad_version[32] = 5;
    CHECK(decode_sync_request(swarm, bad_version).has_error());
    auto bad_kind = bytes;
    bad_kind[33] = 9;
    CHECK(decode_sync_request(swarm, bad_kind).has_error());
    auto inverted = encode_sync_request(swarm, {SyncRequest::Kind::updates, 90, 40});
    CHECK(decode_sync_request(swarm, inverted).has_error());
}

TEST_CASE("sync serves update ranges and checkpoint slices between two hosts on loopback",
          "[sync]") {
    namespace asio = boost::asio;
    setup_logging({});  // other tests leave loggers writing to their own, now gone, streams
    asio::io_context io;
    net::Host server(io.get_executor(), crypto::PrivateKey::generate());
    net::Host client(io.get_executor(), crypto::PrivateKey::generate());
    const auto addr = server.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
    Bytes swarm(32, 0x5a);
    const auto key = crypto::PrivateKey::generate();
    std::vector<training::SignedUpdate> log;
    for (std::uint64_t r = 1; r <= 50; ++r)
        log.push_back(signed_by(key, r, 0, static_cast<std::int8_t>(r)));
    std::vector<float> params(40000);
    for (std::size_t i = 0; i < params.size(); ++i) params[i] = static_cast<float>(i) * 0.5f;
    const crypto::Digest hash = training::model_hash(params);

    SyncSource source;
    source.updates = [&](std::uint64_t after, std::uint64_t through, SyncSource::UpdatesDone done) {
        std::vector<training::SignedUpdate> out;
        for (const auto& u : log) {
            if (u.update.round > after && u.update.round <= through) out.push_back(u);
        }
        asio::post(io, [done, out] { done(out); });
    };
    source.checkpoint = [&](std::uint64_t round, std::uint64_t offset, std::uint64_t count,
                            SyncSource::SliceDone done) {
        std::optional<CheckpointSlice> out;
        if (round == 40 && offset <= params.size()) {
            const auto n = std::min<std::uint64_t>(count, params.size() - offset);
            out = CheckpointSlice{
                40,
                params.size(),
                123,
                hash,
                offset,
                std::vector<float>(params.begin() + static_cast<std::ptrdiff_t>(offset),
                                   params.begin() + static_cast<std::ptrdiff_t>(offset + n))};
        }
        asio::post(io, [done, out] { done(out); });
    };
    serve_sync(server, swarm, source);

    net::testing::run(io, [&]() -> asio::awaitable<void> {
        auto c = co_await client.dial(addr);
        REQUIRE(c);
        auto all = co_await fetch_updates(client, server.peer_id(), swarm, 30);
        REQUIRE(all);
        CHECK(all.value().size() == 30);
        for (const auto& u : all.value()) CHECK(verify_update(kTopic, u));
        CHECK(all.value() == std::vector<training::SignedUpdate>(log.begin(), log.begin() + 30));
        auto range = co_await fetch_updates(client, server.peer_id(), swarm, 45, 40);
        REQUIRE(range);
        REQUIRE(range.value().size() == 5);
        CHECK(range.value().front().update.round == 41);

        std::vector<float> assembled;
        for (std::uint64_t offset = 0; offset < params.size(); offset += 15000) {
            auto slice = co_await fetch_checkpoint_slice(client, server.peer_id(), swarm, 40,
                                                         offset, 15000, params.size());
            REQUIRE(slice);
            CHECK(slice.value().model_hash == hash);
            CHECK(slice.value().update_count == 123);
            assembled.insert(assembled.end(), slice.value().values.begin(),
                             slice.value().values.end());
        }
        CHECK(assembled == params);
        auto whole = co_await fetch_checkpoint_slice(client, server.peer_id(), swarm, 40, 0,
                                                     params.size(), params.size());
        REQUIRE(whole);
        CHECK(whole.value().values == params);
        // Not held; another parameter count than ours; another swarm.
        auto missing = co_await fetch_checkpoint_slice(client, server.peer_id(), swarm, 60, 0, 10,
                                                       params.size());
        CHECK(missing.has_error());
        auto wrong_size =
            co_await fetch_checkpoint_slice(client, server.peer_id(), swarm, 40, 0, 10, 1000);
        CHECK(wrong_size.has_error());
        auto other = co_await fetch_checkpoint_slice(client, server.peer_id(), Bytes(32, 1), 40, 0,
                                                     10, params.size());
        CHECK(other.has_error());
    });
    client.stop();
    server.stop();
}

namespace {

// A hostile sync server: announces `count` records and streams what `chunk(i)` makes, counting
// the chunks it managed to send before the client hung up.
struct HostileSync {
    HostileSync(boost::asio::io_context& io, std::uint64_t count,
                std::function<Bytes(std::size_t)> chunk)
        : server(io.get_executor(), crypto::PrivateKey::generate()),
          client(io.get_executor(), crypto::PrivateKey::generate()) {
        addr = server.listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value();
        server.set_handler(
            std::string(kSyncProtocol),
            [this, count,
             chunk](std::shared_ptr<net::Stream> stream) -> boost::asio::awaitable<void> {
                (void)co_await stream->read_length_prefixed(64);
                Bytes n;
                for (int i = 7; i >= 0; --i)
                    n.push_back(static_cast<std::uint8_t>(count >> (8 * i)));
                if (!co_await stream->write_length_prefixed(n)) co_return;
                for (std::size_t i = 0;; ++i) {
                    const Bytes body = chunk(i);
                    if (body.empty()) break;
                    if (!co_await stream->write_length_prefixed(body)) co_return;
                    ++sent;
                }
                stream->close_write();
            });
    }
    net::Host server;
    net::Host client;
    net::Multiaddr addr;
    std::size_t sent = 0;
};

Result<std::vector<training::SignedUpdate>> fetch_from(boost::asio::io_context& io,
                                                       HostileSync& h) {
    Result<std::vector<training::SignedUpdate>> got = net::Errc::invalid_state;
    net::testing::run(
        io,
        [&]() -> boost::asio::awaitable<void> {
            REQUIRE(co_await h.client.dial(h.addr));
            got = co_await fetch_updates(h.client, h.server.peer_id(), kSwarm, 1u << 30);
        },
        std::chrono::seconds(60));
    h.client.stop();
    h.server.stop();
    return got;
}

}  // namespace

TEST_CASE("a sync answer of forged records is cut off at its first chunk", "[sync][hostile]") {
    boost::asio::io_context io;
    const auto victim = crypto::PrivateKey::generate();
    // A million records "by" an honest author, none of them signed by it: 1024 per chunk.
    std::vector<training::SignedUpdate> chunk;
    for (std::uint32_t i = 0; i < kSyncChunkUpdates; ++i) {
        auto u = signed_by(victim, 1 + i / 8, i % 8, 1);
        u.signature.bytes[0] ^= 1;
        chunk.push_back(u);
    }
    const Bytes body = encode_sync_records(chunk);
    HostileSync h(io, kMaxSyncUpdates, [&](std::size_t i) { return i < 1024 ? body : Bytes{}; });
    net::testing::RssProbe rss;
    auto got = fetch_from(io, h);
    // Announced: a million records (~150 MB); held: one chunk.
    WARN("forged sync answer: peak RSS growth " << rss.growth_mib() << " MiB (bound 16 MiB)");
    CHECK(rss.growth_mib() < 16);
    REQUIRE(got.has_error());
    CHECK(got.error() == net::Errc::bad_signature);
    // The reset stops the server within what the stream's window let through.
    CHECK(h.sent < 64);
}

TEST_CASE("a sync answer from more fresh identities than the author cap is refused",
          "[sync][hostile]") {
    boost::asio::io_context io;
    // Genuinely signed, each by its own throwaway key: 300 authors.
    std::vector<training::SignedUpdate> records;
    for (int a = 0; a < 300; ++a)
        records.push_back(signed_by(crypto::PrivateKey::generate(), 1, 0, 1));
    const Bytes body = encode_sync_records(records);
    HostileSync h(io, records.size(), [&](std::size_t i) { return i == 0 ? body : Bytes{}; });
    auto got = fetch_from(io, h);
    REQUIRE(got.has_error());
    CHECK(got.error() == net::Errc::message_too_large);
}

TEST_CASE("a sync answer that repeats a record is refused", "[sync][hostile]") {
    boost::asio::io_context io;
    const auto key = crypto::PrivateKey::generate();
    const auto one = signed_by(key, 3, 0, 1);
    std::vector<training::SignedUpdate> records(10, one);
    const Bytes body = encode_sync_records(records);
    HostileSync h(io, records.size(), [&](std::size_t i) { return i == 0 ? body : Bytes{}; });
    auto got = fetch_from(io, h);
    REQUIRE(got.has_error());
    CHECK(got.error() == net::Errc::protocol_error);
}
