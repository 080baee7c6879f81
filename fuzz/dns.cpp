// fuzz-deps: swarmd_bootstrap_core
// DNS TXT responses as a nameserver (or anyone who can spoof one) sends them, for the transaction
// id in the input and for a fixed one. The records that decode are within the caps and, put into
// a response of our own (answers naming the question by a compression pointer), decode the same.
// The input is also tried as a name to query: a query that encodes, answered, decodes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/endian.hpp"
#include "bootstrap/dns.hpp"
#include "bootstrap/error.hpp"
#include "fuzz/check.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
using swarmd::fuzz::check;

namespace {

// The answer a nameserver gives to `query`: the question echoed, one TXT record per entry.
Bytes answer(const Bytes& query, const std::vector<std::string>& records) {
    Bytes out = query;
    out[2] = 0x81;  // response, recursion desired
    out[3] = 0x80;  // recursion available, no error
    out[6] = static_cast<std::uint8_t>(records.size() >> 8);
    out[7] = static_cast<std::uint8_t>(records.size());
    for (const std::string& text : records) {
        append_be<std::uint16_t>(out, 0xc00c);  // the question's name
        append_be<std::uint16_t>(out, 16);      // TXT
        append_be<std::uint16_t>(out, 1);       // IN
        append_be<std::uint32_t>(out, 300);
        const std::size_t strings = (text.size() + 254) / 255;
        append_be<std::uint16_t>(out, static_cast<std::uint16_t>(text.size() + strings));
        for (std::size_t pos = 0; pos < text.size(); pos += 255) {
            const std::size_t len = std::min<std::size_t>(255, text.size() - pos);
            out.push_back(static_cast<std::uint8_t>(len));
            append(out, as_bytes(std::string_view(text).substr(pos, len)));
        }
    }
    return out;
}

void response(ByteSpan in, std::uint16_t id) {
    auto records = decode_txt_response(in, id);
    if (!records) return;
    check(in.size() >= 12 && in.size() <= kMaxDnsMessage);
    check(records.value().size() <= kMaxTxtRecords);
    std::size_t text = 0;
    for (const std::string& r : records.value()) text += r.size();
    check(text <= in.size());
    static const Bytes query = encode_txt_query("_dnsaddr.bootstrap.libp2p.io", 0).value();
    Bytes ours = answer(query, records.value());
    store_be<std::uint16_t>(ours.data(), id);
    if (ours.size() > kMaxDnsMessage) return;
    auto again = decode_txt_response(ours, id);
    check(again && again.value() == records.value());
}

void query(ByteSpan in, std::uint16_t id) {
    std::string_view name = as_string_view(in);
    auto q = encode_txt_query(name, id);
    if (!q) return;
    if (name.back() == '.') name.remove_suffix(1);
    check(q.value().size() == 12 + 1 + name.size() + 1 + 4);
    const std::vector<std::string> records{"dnsaddr=/ip4/192.0.2.1/tcp/4001"};
    auto answered = decode_txt_response(answer(q.value(), records), id);
    check(answered && answered.value() == records);
    check(decode_txt_response(q.value(), id).error() == Errc::dns_malformed_response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    const std::uint16_t id = size >= 2 ? load_be<std::uint16_t>(data) : 0;
    response(in, id);
    response(in, 0x1234);
    query(in, id);
    return 0;
}
