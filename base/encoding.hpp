#pragma once
// Text encodings used by peer ids and multiaddrs: base58btc (Bitcoin alphabet), base32
// (RFC 4648, lower case, no padding, as multibase 'b') and hex.
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd {

// Inputs longer than this are rejected before decoding (peer ids are ~52 characters).
inline constexpr std::size_t kMaxEncodedLength = 4096;

std::string base58_encode(ByteSpan data);
Result<Bytes> base58_decode(std::string_view text);

std::string base32_encode(ByteSpan data);
Result<Bytes> base32_decode(std::string_view text);

std::string hex_encode(ByteSpan data);
Result<Bytes> hex_decode(std::string_view text);

}  // namespace swarmd
