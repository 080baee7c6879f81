#include <catch2/catch.hpp>

#include "bootstrap/dns.hpp"
#include "bootstrap/error.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;

namespace {

// Builds a response to `query` carrying the given TXT records (each one character-string).
Bytes make_response(const Bytes& query, const std::vector<std::string>& records,
                    std::uint16_t flags = 0x8180) {
    Bytes out = query;
    out[2] = static_cast<std::uint8_t>(flags >> 8);
    out[3] = static_cast<std::uint8_t>(flags);
    out[6] = 0;
    out[7] = static_cast<std::uint8_t>(records.size());
    for (const auto& r : records) {
        out.insert(out.end(), {0xc0, 0x0c});  // pointer to the question name
        out.insert(out.end(), {0x00, 0x10, 0x00, 0x01, 0, 0, 0, 60});
        const auto rdlen = r.size() + 1;
        out.push_back(static_cast<std::uint8_t>(rdlen >> 8));
        out.push_back(static_cast<std::uint8_t>(rdlen));
        out.push_back(static_cast<std::uint8_t>(r.size()));
        append(out, as_bytes(r));
    }
    return out;
}

}  // namespace

TEST_CASE("TXT query encodes the name as labels", "[dns]") {
    auto q = encode_txt_query("_dnsaddr.boot.example", 0x1234).value();
    REQUIRE(q.size() == 12 + 1 + 8 + 1 + 4 + 1 + 7 + 1 + 4);
    CHECK(q[0] == 0x12);
    CHECK(q[1] == 0x34);
    CHECK(q[12] == 8);
    CHECK(std::string(q.begin() + 13, q.begin() + 21) == "_dnsaddr");
    CHECK(encode_txt_query("a..b", 1).error() == Errc::dns_bad_name);
    CHECK(encode_txt_query("", 1).error() == Errc::dns_bad_name);
    CHECK(encode_txt_query(std::string(64, 'a') + ".com", 1).error() == Errc::dns_bad_name);
    CHECK(encode_txt_query("bad name.com", 1).error() == Errc::dns_bad_name);
}

TEST_CASE("TXT responses decode, with compressed names", "[dns]") {
    auto q = encode_txt_query("_dnsaddr.boot.example", 7).value();
    auto r = make_response(q, {"dnsaddr=/ip4/1.2.3.4/tcp/1", "other"});
    auto records = decode_txt_response(r, 7).value();
    REQUIRE(records.size() == 2);
    CHECK(records[0] == "dnsaddr=/ip4/1.2.3.4/tcp/1");
    CHECK(records[1] == "other");
    CHECK(decode_txt_response(r, 8).error() == Errc::dns_malformed_response);
}

TEST_CASE("DNS error codes and hostile responses give errors", "[dns]") {
    auto q = encode_txt_query("x.example", 9).value();
    CHECK(decode_txt_response(make_response(q, {}, 0x8183), 9).error() == Errc::dns_name_not_found);
    CHECK(decode_txt_response(make_response(q, {}, 0x8185), 9).error() == Errc::dns_refused);
    CHECK(decode_txt_response(make_response(q, {}, 0x8182), 9).error() == Errc::dns_server_failure);
    CHECK(decode_txt_response(make_response(q, {"a"}, 0x8380), 9).error() == Errc::dns_truncated);
    CHECK(decode_txt_response(q, 9).error() == Errc::dns_malformed_response);  // not a response

    auto r = make_response(q, {"record"});
    // Every truncation of a valid response is an error, never a crash or a partial answer.
    for (std::size_t n = 0; n < r.size(); ++n) {
        CHECK(decode_txt_response(ByteSpan(r.data(), n), 9).has_error());
    }
    // A compression pointer to itself must not loop.
    auto looped = r;
    auto answer = q.size();
    looped[answer] = 0xc0;
    looped[answer + 1] = static_cast<std::uint8_t>(answer);
    CHECK(decode_txt_response(looped, 9).error() == Errc::dns_malformed_response);
    // A TXT string longer than its record.
    auto overlong = r;
    overlong[overlong.size() - 7] = 200;
    CHECK(decode_txt_response(overlong, 9).error() == Errc::dns_malformed_response);
    // Too many records.
    std::vector<std::string> many(kMaxTxtRecords + 1, "x");
    CHECK(decode_txt_response(make_response(q, many), 9).error() == Errc::dnsaddr_too_many_records);
}
