#pragma once
// A sans-I/O DNS codec for the one query swarmd makes: TXT records over UDP (RFC 1035), used to
// resolve /dnsaddr/ bootstrap entries. Responses are untrusted input: every length and pointer is
// checked, compression pointers may not loop, and record counts are capped.
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::bootstrap {

inline constexpr std::size_t kMaxDnsMessage = 4096;
inline constexpr std::size_t kMaxTxtRecords = 64;

// Encodes a recursive TXT query for `name` with the given transaction id.
Result<Bytes> encode_txt_query(std::string_view name, std::uint16_t id);

// Decodes the answer to a query with transaction id `id`: the TXT records (each the
// concatenation of its character-strings). NXDOMAIN decodes to dns_name_not_found.
Result<std::vector<std::string>> decode_txt_response(ByteSpan message, std::uint16_t id);

}  // namespace swarmd::bootstrap
