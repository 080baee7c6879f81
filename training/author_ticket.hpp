#pragma once
// An author's work ticket: what a ZO author pays, once per swarm, for a place among the authors
// a swarm's merge keeps when more authors publish than it replays (the author cap).
//
// A ticket is a nonce such that SHA-256("swarmd/author-ticket/1" | swarm id | author peer id |
// u64be nonce) starts with at least `bits` zero bits (the spec's zo.author_work_bits). Every
// update carries its author's ticket inside the signed message, so anyone holding the update can
// check the ticket with no other state. Past the cap, authors are taken in the order of their
// ticket hash, lowest first: an identity ranks before an honest author only by holding a hash
// below the honest one, which costs about as much work as the honest author spent, per identity
// (a peer-id byte order, by contrast, is won by grinding keys, which costs almost nothing).
#include <compare>
#include <cstdint>

#include "base/bytes.hpp"
#include "crypto/hash.hpp"

namespace swarmd::training {

inline constexpr unsigned kMaxTicketBits = 40;

crypto::Digest ticket_hash(ByteSpan swarm_id, ByteSpan author, std::uint64_t nonce);

// Leading zero bits of a digest (256 for all zeros).
unsigned leading_zero_bits(const crypto::Digest& d) noexcept;

bool ticket_meets(ByteSpan swarm_id, ByteSpan author, std::uint64_t nonce, unsigned bits);

// The smallest nonce >= start that meets `bits` (about 2^bits hashes: 2^22 take ~0.7 s on one
// core here). Deterministic, so a restart finds the same ticket.
std::uint64_t grind_ticket(ByteSpan swarm_id, ByteSpan author, unsigned bits,
                           std::uint64_t start = 0);

// An author's place in the cap order: its ticket hash, then its peer id bytes (ties).
struct AuthorRank {
    crypto::Digest hash{};
    Bytes author;

    friend std::strong_ordering operator<=>(const AuthorRank&, const AuthorRank&) = default;
    friend bool operator==(const AuthorRank&, const AuthorRank&) = default;
};

}  // namespace swarmd::training
