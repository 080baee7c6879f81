#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/encoding.hpp"
#include "crypto/perturbation.hpp"

using namespace swarmd;
using namespace swarmd::crypto;

namespace {

// Frozen inputs: these vectors are part of the wire protocol. If one of them changes, every
// node of an existing swarm would regenerate different perturbations from the same update.
constexpr std::string_view kSwarm = "swarm-id-for-test-vectors";
constexpr std::string_view kAuthor = "author-peer-id";
constexpr std::uint64_t kRound = 42;
constexpr std::uint32_t kIndex = 7;

PerturbationStream vector_stream() {
    return PerturbationStream(derive_stream_key(StreamDomain::perturbation, as_bytes(kSwarm),
                                                as_bytes(kAuthor), kRound, kIndex));
}

}  // namespace

TEST_CASE("keystream is RFC 8439 ChaCha20 with the block counter as offset", "[perturbation]") {
    // RFC 8439 appendix A.1, test vectors #1 and #2: all-zero key and nonce, counters 0 and 1.
    PerturbationStream zero{StreamKey{}};
    Bytes b(64);
    zero.bytes(0, b);
    CHECK(hex_encode(b) ==
          "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
          "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
    zero.bytes(64, b);
    CHECK(hex_encode(b) ==
          "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
          "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

TEST_CASE("stream keys are frozen and domain separated", "[perturbation]") {
    auto key = [](StreamDomain d) {
        return hex_encode(
            derive_stream_key(d, as_bytes(kSwarm), as_bytes(kAuthor), kRound, kIndex));
    };
    CHECK(key(StreamDomain::perturbation) ==
          "c6c46364debbab86acbfa6da45e8a80979b18ad4a3c9dade0a7b944563489df5");
    CHECK(key(StreamDomain::rounding) ==
          "1131f6178958a8d0713a4ac184482c166e4c1bcdfcd6b42c8dd90898bdaa4116");
    CHECK(key(StreamDomain::init) ==
          "b6f0ffa76966abde1b3119acfa50a68ab02acd500296496d739fc8875cf30785");
    // Length prefixes: moving a byte between swarm id and author changes the key.
    CHECK(derive_stream_key(StreamDomain::perturbation, as_bytes("ab"), as_bytes("c"), 1, 0) !=
          derive_stream_key(StreamDomain::perturbation, as_bytes("a"), as_bytes("bc"), 1, 0));
    CHECK(derive_stream_key(StreamDomain::perturbation, as_bytes("a"), as_bytes("b"), 1, 0) !=
          derive_stream_key(StreamDomain::perturbation, as_bytes("a"), as_bytes("b"), 0, 1));
}

TEST_CASE("frozen value vectors", "[perturbation]") {
    auto s = vector_stream();
    std::vector<float> g(8);
    s.gaussian(0, g);
    CHECK(g == std::vector<float>{-0.45345667f, 1.08793473f, -2.56274819f, 0.311183482f,
                                  0.109684452f, 0.321378738f, -1.39914095f, 0.554271638f});
    s.gaussian(1000000001, g);  // odd offset: starts with the sine half of a pair
    CHECK(g == std::vector<float>{0.0922950208f, -1.47848785f, -1.27876174f, 0.447935432f,
                                  -1.32410848f, 0.504895091f, -2.02355051f, 0.85867393f});
    std::vector<float> r(16);
    s.rademacher(0, r);
    CHECK(r == std::vector<float>{-1, -1, -1, -1, 1, 1, 1, -1, -1, 1, -1, 1, 1, 1, 1, 1});
    s.rademacher(8000000003ULL, r);  // not byte aligned
    CHECK(r == std::vector<float>{-1, -1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, 1, 1, -1, 1});
    std::vector<double> u(4);
    s.uniform(0, u);
    CHECK(u == std::vector<double>{0.49926790944300592, 0.31285172305069864, 0.035712413489818573,
                                   0.4807686482090503});
    s.uniform(123456789, u);
    CHECK(u == std::vector<double>{0.92814655718393624, 0.59512238088063896, 0.2233113250695169,
                                   0.84692543698474765});
}

TEST_CASE("any chunking equals the same slice of one sequential read", "[perturbation]") {
    auto s = vector_stream();
    constexpr std::size_t kN = 20011;  // prime: chunks straddle blocks, bytes and pairs
    std::vector<float> seq_g(kN), seq_r(kN), part(kN);
    std::vector<double> seq_u(kN), part_u(kN);
    s.gaussian(5, seq_g);
    s.rademacher(5, seq_r);
    s.uniform(5, seq_u);
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 63u, 64u, 65u, 511u, 4096u, 8193u}) {
        for (std::size_t pos = 0; pos < kN; pos += chunk) {
            const std::size_t n = std::min(chunk, kN - pos);
            s.gaussian(5 + pos, std::span(part).subspan(pos, n));
        }
        REQUIRE(part == seq_g);
        for (std::size_t pos = 0; pos < kN; pos += chunk) {
            const std::size_t n = std::min(chunk, kN - pos);
            s.rademacher(5 + pos, std::span(part).subspan(pos, n));
        }
        REQUIRE(part == seq_r);
        for (std::size_t pos = 0; pos < kN; pos += chunk) {
            const std::size_t n = std::min(chunk, kN - pos);
            s.uniform(5 + pos, std::span(part_u).subspan(pos, n));
        }
        REQUIRE(part_u == seq_u);
    }
    Bytes all(1000), piece(37);
    s.bytes(3, all);
    s.bytes(3 + 500, piece);
    CHECK(std::equal(piece.begin(), piece.end(), all.begin() + 500));
}

TEST_CASE("value distributions have the right moments", "[perturbation]") {
    auto s = vector_stream();
    constexpr std::size_t kN = 1 << 18;
    std::vector<float> g(kN), r(kN);
    s.gaussian(0, g);
    s.rademacher(0, r);
    double mean = 0, var = 0, rmean = 0;
    for (float x : g) mean += x;
    mean /= kN;
    for (float x : g) var += (x - mean) * (x - mean);
    var /= kN;
    for (float x : r) rmean += x;
    rmean /= kN;
    // Five standard errors: 1/sqrt(N) ~ 0.002 for the means, sqrt(2/N) ~ 0.0028 for the variance.
    CHECK(std::abs(mean) < 0.01);
    CHECK(std::abs(var - 1.0) < 0.014);
    CHECK(std::abs(rmean) < 0.01);
    CHECK(std::all_of(g.begin(), g.end(), [](float x) { return std::isfinite(x); }));
}

TEST_CASE("reads past the end of the stream are refused", "[perturbation]") {
    auto s = vector_stream();
    Bytes b(2);
    CHECK_THROWS_AS(s.bytes(kStreamBytes - 1, b), std::out_of_range);
    CHECK_NOTHROW(s.bytes(kStreamBytes - 2, b));
}
