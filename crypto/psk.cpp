#include "crypto/psk.hpp"

#include <sodium.h>

#include <algorithm>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "crypto/error.hpp"
#include "crypto/hash.hpp"

namespace swarmd::crypto {

namespace {

constexpr std::string_view kHeaderLine = "/key/swarm/psk/1.0.0/";
constexpr std::string_view kBase16Line = "/base16/";
// Three short lines; anything larger is not a key file.
constexpr std::size_t kMaxPskFileSize = 256;

// The next line without its LF; `rest` moves past it. No LF: the rest of the text.
std::string_view take_line(std::string_view& rest) {
    const auto lf = rest.find('\n');
    const auto line = rest.substr(0, lf);
    rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    return line;
}

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

Psk::~Psk() { sodium_memzero(m_key.data(), m_key.size()); }

Result<Psk> Psk::parse(std::string_view file) {
    std::string_view rest = file;
    if (take_line(rest) != kHeaderLine) return Errc::bad_psk_header;
    if (take_line(rest) != kBase16Line) return Errc::bad_psk_encoding;
    const std::string_view hex = take_line(rest);
    if (!rest.empty()) return Errc::bad_psk_key;  // more than one trailing newline, or more lines
    if (hex.size() != 2 * kSize || !std::all_of(hex.begin(), hex.end(), is_hex_digit)) {
        return Errc::bad_psk_key;
    }
    auto bytes = hex_decode(hex);
    if (!bytes || bytes.value().size() != kSize) return Errc::bad_psk_key;
    Key key{};
    std::copy(bytes.value().begin(), bytes.value().end(), key.begin());
    sodium_memzero(bytes.value().data(), bytes.value().size());
    Psk psk(key);
    sodium_memzero(key.data(), key.size());
    return psk;
}

std::string Psk::to_file() const {
    std::string out;
    out.append(kHeaderLine).append("\n").append(kBase16Line).append("\n");
    out.append(hex_encode(m_key)).append("\n");
    return out;
}

Result<Psk> read_psk_file(const std::filesystem::path& path) {
    Bytes text;
    if (auto ec = read_secret_file(path, text, kMaxPskFileSize, 077)) {
        if (ec == std::errc::operation_not_permitted) return Errc::key_file_permissions;
        if (ec == std::errc::file_too_large) return Errc::bad_psk_header;
        return ec;
    }
    auto psk = Psk::parse(as_string_view(text));
    sodium_memzero(text.data(), text.size());
    return psk;
}

XSalsa20Stream::XSalsa20Stream(const Psk& psk, const Nonce& nonce) noexcept
    : m_key(psk.key()), m_nonce(nonce) {}

XSalsa20Stream::~XSalsa20Stream() {
    sodium_memzero(m_key.data(), m_key.size());
    sodium_memzero(m_block.data(), m_block.size());
}

void XSalsa20Stream::apply(MutableByteSpan data) noexcept {
    std::size_t i = 0;
    // The rest of a block a previous call started.
    while (m_offset != 0 && i < data.size()) {
        data[i++] ^= m_block[m_offset++];
        if (m_offset == kBlockSize) {
            m_offset = 0;
            ++m_counter;
        }
    }
    // Whole blocks straight from libsodium (in place is allowed).
    const std::size_t whole = (data.size() - i) / kBlockSize * kBlockSize;
    if (whole > 0) {
        crypto_stream_xsalsa20_xor_ic(data.data() + i, data.data() + i, whole, m_nonce.data(),
                                      m_counter, m_key.data());
        m_counter += whole / kBlockSize;
        i += whole;
    }
    // A partial block: keep its keystream for the next call.
    if (i < data.size()) {
        m_block.fill(0);
        crypto_stream_xsalsa20_xor_ic(m_block.data(), m_block.data(), kBlockSize, m_nonce.data(),
                                      m_counter, m_key.data());
        while (i < data.size()) data[i++] ^= m_block[m_offset++];
    }
}

XSalsa20Stream::Nonce random_pnet_nonce() {
    ensure_sodium();
    XSalsa20Stream::Nonce nonce{};
    randombytes_buf(nonce.data(), nonce.size());
    return nonce;
}

}  // namespace swarmd::crypto
