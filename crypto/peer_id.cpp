#include "crypto/peer_id.hpp"

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {
namespace {

constexpr std::uint64_t kIdentity = 0x00;
constexpr std::uint64_t kSha256 = 0x12;
constexpr std::uint64_t kCidV1 = 0x01;
constexpr std::uint64_t kLibp2pKey = 0x72;
constexpr std::size_t kMaxInlineKey = 42;

}  // namespace

PeerId PeerId::from_public_key(const PublicKey& key) {
    Bytes pb = key.to_protobuf();
    PeerId id;
    if (pb.size() <= kMaxInlineKey) {
        varint_append(id.m_multihash, kIdentity);
        varint_append(id.m_multihash, pb.size());
        append(id.m_multihash, pb);
    } else {
        varint_append(id.m_multihash, kSha256);
        varint_append(id.m_multihash, 32);
        append(id.m_multihash, sha256(pb));
    }
    return id;
}

Result<PeerId> PeerId::from_bytes(ByteSpan multihash) {
    if (multihash.size() > kMaxMultihashSize) return Errc::bad_multihash;
    auto code = varint_decode(multihash);
    if (code.status != VarintStatus::ok) return Errc::bad_multihash;
    auto len = varint_decode(multihash.subspan(code.length));
    if (len.status != VarintStatus::ok) return Errc::bad_multihash;
    const std::size_t header = code.length + len.length;
    if (multihash.size() - header != len.value) return Errc::bad_multihash;
    if (code.value == kIdentity) {
        if (len.value > kMaxInlineKey) return Errc::bad_multihash;
    } else if (code.value == kSha256) {
        if (len.value != 32) return Errc::bad_multihash;
    } else {
        return Errc::bad_multihash;
    }
    PeerId id;
    id.m_multihash.assign(multihash.begin(), multihash.end());
    return id;
}

Result<PeerId> PeerId::parse(std::string_view text) {
    if (text.empty() || text.size() > 2 * kMaxMultihashSize + 8) return Errc::bad_length;
    if (text[0] == '1' || text.starts_with("Qm")) {
        BOOST_OUTCOME_TRY(mh, base58_decode(text));
        return from_bytes(mh);
    }
    Result<Bytes> decoded = Errc::bad_multibase;
    if (text[0] == 'b' || text[0] == 'B') {
        decoded = base32_decode(text.substr(1));
    } else if (text[0] == 'z') {
        decoded = base58_decode(text.substr(1));
    }
    if (!decoded) return decoded.error();
    const Bytes& cid = decoded.value();
    auto version = varint_decode(cid);
    if (version.status != VarintStatus::ok || version.value != kCidV1) return Errc::bad_cid;
    auto codec = varint_decode(ByteSpan(cid).subspan(version.length));
    if (codec.status != VarintStatus::ok || codec.value != kLibp2pKey) return Errc::bad_cid;
    return from_bytes(ByteSpan(cid).subspan(version.length + codec.length));
}

std::string PeerId::to_base58() const { return base58_encode(m_multihash); }

std::string PeerId::to_cid() const {
    Bytes cid;
    varint_append(cid, kCidV1);
    varint_append(cid, kLibp2pKey);
    append(cid, m_multihash);
    return "b" + base32_encode(cid);
}

std::optional<PublicKey> PeerId::public_key() const {
    if (m_multihash.size() < 2 || m_multihash[0] != kIdentity) return std::nullopt;
    auto key = PublicKey::from_protobuf(ByteSpan(m_multihash).subspan(2));
    if (!key) return std::nullopt;
    return key.value();
}

bool PeerId::hashes_key() const noexcept {
    // from_bytes admits a SHA-256 multihash only with its 32-byte digest.
    return !m_multihash.empty() && m_multihash[0] == kSha256;
}

std::string PeerId::short_string() const {
    std::string s = to_base58();
    return s.size() > 6 ? s.substr(s.size() - 6) : s;
}

}  // namespace swarmd::crypto
