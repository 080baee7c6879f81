// Author work tickets: what an identity costs past the merge's author cap.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "training/author_ticket.hpp"

using namespace swarmd;
using namespace swarmd::training;

namespace {

Bytes fresh_author() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).bytes();
}

}  // namespace

TEST_CASE("leading zero bits count from the first byte", "[ticket]") {
    crypto::Digest d{};
    CHECK(leading_zero_bits(d) == 256);
    d[0] = 0x80;
    CHECK(leading_zero_bits(d) == 0);
    d[0] = 0x01;
    CHECK(leading_zero_bits(d) == 7);
    d[0] = 0;
    d[1] = 0x10;
    CHECK(leading_zero_bits(d) == 11);
}

TEST_CASE("a ground ticket meets its work, is found again, and is bound to swarm and author",
          "[ticket]") {
    const Bytes swarm(32, 0x5a), other_swarm(32, 0x5b);
    const auto author = fresh_author(), other = fresh_author();
    const auto nonce = grind_ticket(swarm, author, 12);
    CHECK(ticket_meets(swarm, author, nonce, 12));
    CHECK(leading_zero_bits(ticket_hash(swarm, author, nonce)) >= 12);
    CHECK(grind_ticket(swarm, author, 12) == nonce);  // deterministic: a restart finds it again
    // Every nonce before it falls short: it is the first.
    for (std::uint64_t n = 0; n < nonce; ++n) CHECK_FALSE(ticket_meets(swarm, author, n, 12));
    // Another swarm or another author would have to grind its own (a 12-bit ticket carries
    // over only by a 1 in 4096 chance, so both together essentially never).
    const bool carries =
        ticket_meets(other_swarm, author, nonce, 12) && ticket_meets(swarm, other, nonce, 12);
    CHECK_FALSE(carries);
    CHECK(ticket_hash(swarm, author, nonce) != ticket_hash(other_swarm, author, nonce));
    CHECK(ticket_hash(swarm, author, nonce) != ticket_hash(swarm, other, nonce));
    // Zero bits: any nonce.
    CHECK(ticket_meets(swarm, author, 12345, 0));
    CHECK(grind_ticket(swarm, author, 0, 77) == 77);
}

TEST_CASE("more work ranks first on average: the rank is the ticket hash", "[ticket]") {
    const Bytes swarm(32, 0x11);
    // 64 authors at 4 bits against 64 at 12 bits: each 12-bit ticket's hash is below 2^244,
    // where a 4-bit one lands with probability 2^-8, so the best 64 are nearly all 12-bit ones.
    std::vector<AuthorRank> ranks;
    for (int i = 0; i < 64; ++i) {
        auto a = fresh_author();
        ranks.push_back({ticket_hash(swarm, a, grind_ticket(swarm, a, 4)), a});
    }
    std::vector<Bytes> worked;
    for (int i = 0; i < 64; ++i) {
        auto a = fresh_author();
        ranks.push_back({ticket_hash(swarm, a, grind_ticket(swarm, a, 12)), a});
        worked.push_back(a);
    }
    std::sort(ranks.begin(), ranks.end());
    std::size_t worked_first = 0;
    for (std::size_t i = 0; i < 64; ++i) {
        worked_first +=
            std::find(worked.begin(), worked.end(), ranks[i].author) != worked.end() ? 1 : 0;
    }
    CHECK(worked_first >= 56);  // expected ~63.75; below 56 has probability < 1e-11
}
