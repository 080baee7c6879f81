#include "bootstrap/dns.hpp"

#include "base/endian.hpp"
#include "bootstrap/error.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr std::uint16_t kTypeTxt = 16;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kFlagResponse = 0x8000;
constexpr std::uint16_t kFlagTruncated = 0x0200;
constexpr std::uint16_t kFlagRecursionDesired = 0x0100;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameLength = 253;
constexpr int kMaxPointerJumps = 16;

class Reader {
  public:
    explicit Reader(ByteSpan msg) : m_msg(msg) {}
    bool has(std::size_t n) const { return m_pos + n <= m_msg.size(); }
    std::uint16_t u16() {
        const auto v = load_be<std::uint16_t>(&m_msg[m_pos]);
        m_pos += 2;
        return v;
    }
    void skip(std::size_t n) { m_pos += n; }
    std::size_t pos() const { return m_pos; }
    ByteSpan bytes(std::size_t n) {
        auto s = m_msg.subspan(m_pos, n);
        m_pos += n;
        return s;
    }

    // Skips a possibly compressed name. Pointers must point backwards and are limited in
    // number, so a hostile message cannot loop.
    bool skip_name() {
        std::size_t pos = m_pos;
        bool jumped = false;
        for (int jumps = 0; jumps <= kMaxPointerJumps;) {
            if (pos >= m_msg.size()) return false;
            const std::uint8_t len = m_msg[pos];
            if ((len & 0xc0) == 0xc0) {
                if (pos + 1 >= m_msg.size()) return false;
                const std::size_t target =
                    static_cast<std::size_t>(len & 0x3f) << 8 | m_msg[pos + 1];
                if (target >= pos) return false;
                if (!jumped) m_pos = pos + 2;
                jumped = true;
                pos = target;
                ++jumps;
                continue;
            }
            if ((len & 0xc0) != 0) return false;
            if (len == 0) {
                if (!jumped) m_pos = pos + 1;
                return true;
            }
            pos += 1 + len;
        }
        return false;
    }

  private:
    ByteSpan m_msg;
    std::size_t m_pos = 0;
};

}  // namespace

Result<Bytes> encode_txt_query(std::string_view name, std::uint16_t id) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > kMaxNameLength) return Errc::dns_bad_name;
    Bytes out;
    out.reserve(kHeaderSize + name.size() + 6);
    append_be<std::uint16_t>(out, id);
    append_be<std::uint16_t>(out, kFlagRecursionDesired);
    append_be<std::uint16_t>(out, 1);  // qdcount
    append_be<std::uint16_t>(out, 0);
    append_be<std::uint16_t>(out, 0);
    append_be<std::uint16_t>(out, 0);
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find('.', start);
        if (end == std::string_view::npos) end = name.size();
        const std::size_t len = end - start;
        if (len == 0 || len > 63) return Errc::dns_bad_name;
        for (char c : name.substr(start, len)) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!ok) return Errc::dns_bad_name;
        }
        out.push_back(static_cast<std::uint8_t>(len));
        append(out, as_bytes(name.substr(start, len)));
        start = end + 1;
    }
    out.push_back(0);
    append_be<std::uint16_t>(out, kTypeTxt);
    append_be<std::uint16_t>(out, kClassIn);
    return out;
}

Result<std::vector<std::string>> decode_txt_response(ByteSpan message, std::uint16_t id) {
    if (message.size() > kMaxDnsMessage || message.size() < kHeaderSize) {
        return Errc::dns_malformed_response;
    }
    Reader r(message);
    if (r.u16() != id) return Errc::dns_malformed_response;
    const std::uint16_t flags = r.u16();
    if ((flags & kFlagResponse) == 0) return Errc::dns_malformed_response;
    if (flags & kFlagTruncated) return Errc::dns_truncated;
    switch (flags & 0x000f) {
        case 0:
            break;
        case 3:
            return Errc::dns_name_not_found;
        case 5:
            return Errc::dns_refused;
        case 2:
            return Errc::dns_server_failure;
        default:
            return Errc::dns_server_failure;
    }
    const std::uint16_t qdcount = r.u16();
    const std::uint16_t ancount = r.u16();
    r.skip(4);  // nscount, arcount: authority and additional sections are not needed
    for (std::uint16_t i = 0; i < qdcount; ++i) {
        if (!r.skip_name() || !r.has(4)) return Errc::dns_malformed_response;
        r.skip(4);
    }
    std::vector<std::string> records;
    for (std::uint16_t i = 0; i < ancount; ++i) {
        if (!r.skip_name() || !r.has(10)) return Errc::dns_malformed_response;
        const std::uint16_t type = r.u16();
        const std::uint16_t klass = r.u16();
        r.skip(4);  // ttl
        const std::uint16_t rdlength = r.u16();
        if (!r.has(rdlength)) return Errc::dns_malformed_response;
        ByteSpan rdata = r.bytes(rdlength);
        if (type != kTypeTxt || klass != kClassIn) continue;  // e.g. a CNAME in the chain
        if (records.size() == kMaxTxtRecords) return Errc::dnsaddr_too_many_records;
        std::string text;
        for (std::size_t pos = 0; pos < rdata.size();) {
            const std::size_t len = rdata[pos];
            if (pos + 1 + len > rdata.size()) return Errc::dns_malformed_response;
            text.append(as_string_view(rdata.subspan(pos + 1, len)));
            pos += 1 + len;
        }
        records.push_back(std::move(text));
    }
    return records;
}

}  // namespace swarmd::bootstrap
