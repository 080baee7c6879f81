// /swarmd/sapo-sync/1.0.0: the slice codec against hostile bytes, the slice plan, agreement on an
// announced base policy, and fetches over loopback spread over holders, with holders that do not
// hold it, lie about it or serve another size.
#include <catch2/catch.hpp>

#include <random>

#include <boost/asio/io_context.hpp>

#include "net/host.hpp"
#include "node/ops/logging.hpp"
#include "node/sapo/sync.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::node;
namespace asio = boost::asio;

namespace {

const Bytes kSwarm(32, 0x5a);

crypto::PeerId random_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

SharedWeights weights_of(std::size_t n, float seed) {
    auto w = std::make_shared<std::vector<float>>(n);
    for (std::size_t i = 0; i < n; ++i)
        (*w)[i] = seed * 0.5f + 0.0007f * static_cast<float>(i % 113);
    return w;
}

struct DefaultLogging {
    DefaultLogging() { setup_logging(LogOptions{}); }
};

crypto::Digest digest(std::uint8_t fill) {
    crypto::Digest d;
    d.fill(fill);
    return d;
}

}  // namespace

TEST_CASE("slice requests and responses round-trip and refuse hostile bytes", "[sapo-sync]") {
    DefaultLogging logging;
    const SliceRequest r{digest(7), 4096, 1000};
    const auto bytes = encode_slice_request(kSwarm, r);
    REQUIRE(bytes.size() == kSliceRequestSize);
    CHECK(decode_slice_request(bytes, kSwarm).value() == r);
    // Another swarm, every truncation, an extension, an empty and an oversized count, and an
    // offset beyond any base policy are refused.
    CHECK(decode_slice_request(bytes, Bytes(32, 0x01)).error() == SapoSyncErrc::malformed_request);
    for (std::size_t n = 0; n < bytes.size(); ++n)
        CHECK(decode_slice_request(ByteSpan(bytes.data(), n), kSwarm).has_error());
    Bytes longer = bytes;
    longer.push_back(0);
    CHECK(decode_slice_request(longer, kSwarm).has_error());
    CHECK(
        decode_slice_request(encode_slice_request(kSwarm, {digest(1), 0, 0}), kSwarm).has_error());
    CHECK(decode_slice_request(encode_slice_request(kSwarm, {digest(1), 0, kMaxSliceFloats + 1}),
                               kSwarm)
              .has_error());
    CHECK(decode_slice_request(encode_slice_request(kSwarm, {digest(1), ~std::uint64_t{0} - 5, 10}),
                               kSwarm)
              .has_error());

    const auto w = weights_of(1000, 1.0f);
    const auto ok = encode_slice_response(SliceStatus::ok, 5000, *w);
    CHECK(decode_slice_response(ok, r, 5000).value() == *w);
    CHECK(decode_slice_response(ok, r, 5001).error() == SapoSyncErrc::size_mismatch);
    for (std::size_t n = 0; n < ok.size(); n += 97)
        CHECK(decode_slice_response(ByteSpan(ok.data(), n), r, 5000).has_error());
    CHECK(decode_slice_response(encode_slice_response(SliceStatus::not_held, 0, {}), r, 5000)
              .error() == SapoSyncErrc::not_held);
    CHECK(decode_slice_response(encode_slice_response(SliceStatus::bad_range, 5000, {}), r, 5000)
              .error() == SapoSyncErrc::bad_range);
    Bytes odd_status = ok;
    odd_status[0] = 9;
    CHECK(decode_slice_response(odd_status, r, 5000).error() == SapoSyncErrc::malformed_response);
}

TEST_CASE("the slice decoders survive random and mutated input", "[sapo-sync]") {
    DefaultLogging logging;
    std::mt19937 rng(20261202);
    const SliceRequest asked{digest(3), 10, 300};
    const auto good_request = encode_slice_request(kSwarm, asked);
    const auto good_response =
        encode_slice_response(SliceStatus::ok, 310, *weights_of(asked.count, 2.0f));
    std::size_t decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        // Half random bytes of any length, half mutations of valid messages (flips, cuts, growth).
        const bool request = i % 2 == 0;
        Bytes in;
        if (i % 4 < 2) {
            in.resize(rng() % (request ? 2 * kSliceRequestSize : good_response.size() + 64));
            for (auto& b : in) b = static_cast<std::uint8_t>(rng());
        } else {
            in = request ? good_request : good_response;
            for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips)
                in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            if (rng() % 3 == 0) in.resize(rng() % (in.size() + 16));
        }
        if (request) {
            auto r = decode_slice_request(in, kSwarm);
            if (!r) continue;
            ++decoded;
            CHECK(r.value().count >= 1);
            CHECK(r.value().count <= kMaxSliceFloats);
            CHECK(r.value().offset <= kMaxBaseParameters);
            CHECK(encode_slice_request(kSwarm, r.value()) == in);
        } else {
            auto v = decode_slice_response(in, asked, 310);
            if (!v) continue;
            ++decoded;
            CHECK(v.value().size() == asked.count);
        }
    }
    // Mutations that leave a message valid (a flipped hash or float bit) do decode.
    CHECK(decoded > 100);
}

TEST_CASE("a fetch is planned as slices spread over the holders", "[sapo-sync]") {
    const auto h = digest(1);
    for (const std::uint64_t total : {1ull, 1023ull, 1024ull, 10000ull, 300000ull, 5000000ull}) {
        for (const std::size_t holders : {1u, 2u, 5u}) {
            const auto slices = plan_slices(h, total, holders);
            std::uint64_t next = 0;
            for (const auto& s : slices) {
                CHECK(s.offset == next);
                CHECK(s.count >= 1);
                CHECK(s.count <= kMaxSliceFloats);
                next += s.count;
            }
            CHECK(next == total);
            // Enough slices for every holder to serve some, once the weights are big enough.
            if (total >= holders * kSlicesPerHolder * kMinSliceFloats)
                CHECK(slices.size() >= holders * kSlicesPerHolder);
        }
    }
}

TEST_CASE("a base policy is agreed on only when enough peers announce the same one",
          "[sapo-sync]") {
    const auto a = random_peer(), b = random_peer(), c = random_peer(), d = random_peer();
    std::map<crypto::PeerId, BaseAnnouncement> beats;
    beats[a] = {"tiny", digest(1), 5000};
    CHECK_FALSE(agree_on_base(beats, "tiny", 2));  // one peer alone could announce anything
    beats[b] = {"tiny", digest(2), 5000};          // disagrees
    CHECK_FALSE(agree_on_base(beats, "tiny", 2));
    beats[c] = {"tiny", digest(1), 5000};
    beats[d] = {"small", digest(1), 5000};  // another architecture does not count
    auto agreed = agree_on_base(beats, "tiny", 2);
    REQUIRE(agreed);
    CHECK(agreed->hash == digest(1));
    CHECK(agreed->parameters == 5000);
    CHECK(agreed->holders.size() == 2);
    // Same hash with another size is another vote; absurd sizes and peers without a base are
    // not counted.
    beats[d] = {"tiny", digest(1), 5001};
    beats[random_peer()] = {"tiny", std::nullopt, 0};
    beats[random_peer()] = {"tiny", digest(1), kMaxBaseParameters + 1};
    CHECK(agree_on_base(beats, "tiny", 2)->holders.size() == 2);
    CHECK_FALSE(agree_on_base(beats, "tiny", 3));
}

TEST_CASE("the base policy is fetched in slices from several holders and verified", "[sapo-sync]") {
    DefaultLogging logging;
    asio::io_context io;
    net::Host joiner(io.get_executor(), crypto::PrivateKey::generate());
    std::vector<std::unique_ptr<net::Host>> holders;
    for (int i = 0; i < 4; ++i)
        holders.push_back(
            std::make_unique<net::Host>(io.get_executor(), crypto::PrivateKey::generate()));
    const auto base = weights_of(150000, 0.25f);  // several slices of the largest size
    const auto hash = weights_hash("tiny", *base);
    const auto liar = weights_of(base->size(), 0.75f);
    const auto shorter = weights_of(base->size() - 1, 0.25f);
    // 0 and 1 hold the base, 2 holds nothing, 3 lies (other weights under the same hash).
    serve_base(*holders[0], kSwarm,
               [&](const crypto::Digest& h) { return h == hash ? base : nullptr; });
    serve_base(*holders[1], kSwarm,
               [&](const crypto::Digest& h) { return h == hash ? base : nullptr; });
    serve_base(*holders[2], kSwarm, [](const crypto::Digest&) { return SharedWeights{}; });
    serve_base(*holders[3], kSwarm, [&](const crypto::Digest&) { return liar; });
    std::vector<net::Multiaddr> addrs;
    for (auto& h : holders)
        addrs.push_back(h->listen(net::Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value());
    auto id = [&](int i) { return holders[i]->peer_id(); };
    // Holder lists built outside the coroutine: GCC 12 cannot keep a braced list's array in a
    // coroutine frame.
    auto pick = [&](auto... i) { return std::vector<crypto::PeerId>{id(i)...}; };

    net::testing::run(io, [&]() -> asio::awaitable<void> {
        for (const auto& a : addrs) REQUIRE(co_await joiner.dial(a));

        auto two = co_await fetch_base(joiner, kSwarm, hash, "tiny", base->size(), pick(0, 1));
        REQUIRE(two);
        CHECK(two.value().weights == *base);
        // Both holders served a share.
        CHECK(two.value().slices_from.size() == 2);
        CHECK(two.value().slices_from[id(0)] >= 1);
        CHECK(two.value().slices_from[id(1)] >= 1);

        // A holder that does not hold it: its slices go to the one that does.
        auto one_missing =
            co_await fetch_base(joiner, kSwarm, hash, "tiny", base->size(), pick(2, 0));
        REQUIRE(one_missing);
        CHECK(one_missing.value().weights == *base);
        CHECK(one_missing.value().slices_from.count(id(2)) == 0);

        // A liar's slices make the whole fail verification.
        auto lied = co_await fetch_base(joiner, kSwarm, hash, "tiny", base->size(), pick(0, 3));
        CHECK(lied.error() == SapoSyncErrc::hash_mismatch);

        // Nobody holds it; a size other than the holders' is refused; so is an absurd one.
        auto nobody = co_await fetch_base(joiner, kSwarm, hash, "tiny", base->size(), pick(2));
        CHECK(nobody.error() == SapoSyncErrc::not_held);
        auto other_size =
            co_await fetch_base(joiner, kSwarm, hash, "tiny", shorter->size(), pick(0, 1));
        CHECK(other_size.error() == SapoSyncErrc::size_mismatch);
        auto absurd =
            co_await fetch_base(joiner, kSwarm, hash, "tiny", kMaxBaseParameters + 1, pick(0));
        CHECK(absurd.error() == SapoSyncErrc::size_mismatch);
        auto none = co_await fetch_base(joiner, kSwarm, hash, "tiny", base->size(), pick());
        CHECK(none.error() == SapoSyncErrc::no_holder);
    });
}
