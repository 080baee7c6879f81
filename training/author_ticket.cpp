#include "training/author_ticket.hpp"

#include "base/endian.hpp"

#include <bit>
#include <string_view>

namespace swarmd::training {

namespace {

constexpr std::string_view kDomain = "swarmd/author-ticket/1";

crypto::Sha256 ticket_prefix(ByteSpan swarm_id, ByteSpan author) {
    crypto::ensure_sodium();
    crypto::Sha256 h;
    h.update(ByteSpan(reinterpret_cast<const std::uint8_t*>(kDomain.data()), kDomain.size()));
    h.update(swarm_id);
    const std::uint8_t len = static_cast<std::uint8_t>(author.size());
    h.update(ByteSpan(&len, 1));
    h.update(author);
    return h;
}

crypto::Digest finish(crypto::Sha256 h, std::uint64_t nonce) {
    std::uint8_t be[8];
    store_be(be, nonce);
    h.update(ByteSpan(be, 8));
    return h.finish();
}

}  // namespace

crypto::Digest ticket_hash(ByteSpan swarm_id, ByteSpan author, std::uint64_t nonce) {
    return finish(ticket_prefix(swarm_id, author), nonce);
}

unsigned leading_zero_bits(const crypto::Digest& d) noexcept {
    unsigned bits = 0;
    for (auto byte : d) {
        if (byte != 0) return bits + static_cast<unsigned>(std::countl_zero(byte));
        bits += 8;
    }
    return bits;
}

bool ticket_meets(ByteSpan swarm_id, ByteSpan author, std::uint64_t nonce, unsigned bits) {
    return bits == 0 || leading_zero_bits(ticket_hash(swarm_id, author, nonce)) >= bits;
}

std::uint64_t grind_ticket(ByteSpan swarm_id, ByteSpan author, unsigned bits, std::uint64_t start) {
    const auto prefix = ticket_prefix(swarm_id, author);
    for (std::uint64_t nonce = start;; ++nonce) {
        if (bits == 0 || leading_zero_bits(finish(prefix, nonce)) >= bits) return nonce;
    }
}

}  // namespace swarmd::training
