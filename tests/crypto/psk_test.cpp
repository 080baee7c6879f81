#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "base/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/psk.hpp"

using namespace swarmd;
using namespace swarmd::crypto;

namespace {

constexpr std::string_view kHex =
    "e5c4a5b6a44a3ea8cd3a0b5dd2c1a4e7f0e3d2c1b0a9f8e7d6c5b4a392817060";

std::string key_file(std::string_view hex) {
    return "/key/swarm/psk/1.0.0/\n/base16/\n" + std::string(hex);
}

Bytes pattern(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + 7);
    return out;
}

}  // namespace

TEST_CASE("a PSK file parses with or without a trailing newline", "[psk]") {
    auto plain = Psk::parse(key_file(kHex));
    REQUIRE(plain);
    CHECK(hex_encode(plain.value().key()) == kHex);
    auto with_lf = Psk::parse(key_file(kHex) + "\n");
    REQUIRE(with_lf);
    CHECK(with_lf.value() == plain.value());
    // Upper-case hex is the same key.
    std::string upper(kHex);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto upper_key = Psk::parse(key_file(upper));
    REQUIRE(upper_key);
    CHECK(upper_key.value() == plain.value());
    // to_file round-trips.
    CHECK(plain.value().to_file() == key_file(kHex) + "\n");
    CHECK(Psk::parse(plain.value().to_file()).value() == plain.value());
}

TEST_CASE("bad PSK files are refused with the reason", "[psk]") {
    const std::string hex(kHex);
    struct Case {
        std::string text;
        Errc error;
    };
    const Case cases[] = {
        {"", Errc::bad_psk_header},
        {"/key/swarm/psk/2.0.0/\n/base16/\n" + hex, Errc::bad_psk_header},
        {"/key/swarm/psk/1.0.0\n/base16/\n" + hex, Errc::bad_psk_header},
        {" /key/swarm/psk/1.0.0/\n/base16/\n" + hex, Errc::bad_psk_header},
        {"/key/swarm/psk/1.0.0/\r\n/base16/\r\n" + hex + "\r\n", Errc::bad_psk_header},
        {"/key/swarm/psk/1.0.0/\n/base64/\n" + hex, Errc::bad_psk_encoding},
        {"/key/swarm/psk/1.0.0/\n/bin/\n" + hex, Errc::bad_psk_encoding},
        {"/key/swarm/psk/1.0.0/\n" + hex, Errc::bad_psk_encoding},
        {"/key/swarm/psk/1.0.0/\n/base16/\n", Errc::bad_psk_key},
        {"/key/swarm/psk/1.0.0/\n/base16/", Errc::bad_psk_key},
        {key_file(hex.substr(0, 62)), Errc::bad_psk_key},
        {key_file(hex + "00"), Errc::bad_psk_key},
        {key_file(hex.substr(0, 63) + "g"), Errc::bad_psk_key},
        {key_file(" " + hex.substr(1)), Errc::bad_psk_key},
        {key_file(hex) + "\n\n", Errc::bad_psk_key},
        {key_file(hex) + "\r\n", Errc::bad_psk_key},
        {key_file(hex) + " ", Errc::bad_psk_key},
        {key_file(hex) + "\n" + hex, Errc::bad_psk_key},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto parsed = Psk::parse(c.text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error() == c.error);
    }
}

TEST_CASE("a PSK file is read from disk only when private to its owner", "[psk]") {
    const auto dir = std::filesystem::temp_directory_path() / "swarmd_psk_test";
    std::filesystem::create_directories(dir);
    const auto path = dir / "swarm.key";
    {
        std::ofstream out(path, std::ios::trunc);
        out << key_file(kHex) << "\n";
    }
    ::chmod(path.c_str(), 0600);
    auto psk = read_psk_file(path);
    REQUIRE(psk);
    CHECK(hex_encode(psk.value().key()) == kHex);

    ::chmod(path.c_str(), 0644);
    auto exposed = read_psk_file(path);
    REQUIRE_FALSE(exposed);
    CHECK(exposed.error() == Errc::key_file_permissions);

    auto missing = read_psk_file(dir / "missing.key");
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == std::errc::no_such_file_or_directory);
    std::filesystem::remove_all(dir);
}

TEST_CASE("XSalsa20 over arbitrary chunks equals one pass", "[psk]") {
    const Psk psk = Psk::parse(key_file(kHex)).value();
    XSalsa20Stream::Nonce nonce{};
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(i + 1);

    const Bytes plain = pattern(1000);
    Bytes whole = plain;
    XSalsa20Stream(psk, nonce).apply(whole);
    CHECK(whole != plain);

    // Every fixed chunk size, then an irregular split that crosses block edges at odd offsets.
    for (std::size_t chunk = 1; chunk <= 200; ++chunk) {
        Bytes split = plain;
        XSalsa20Stream stream(psk, nonce);
        for (std::size_t at = 0; at < split.size(); at += chunk) {
            stream.apply(MutableByteSpan(split).subspan(at, std::min(chunk, split.size() - at)));
        }
        INFO("chunk " << chunk);
        REQUIRE(split == whole);
    }
    const std::size_t sizes[] = {0, 63, 1, 0, 64, 65, 127, 3, 200, 1, 129};
    Bytes split = plain;
    XSalsa20Stream stream(psk, nonce);
    std::size_t at = 0;
    for (std::size_t n : sizes) {
        stream.apply(MutableByteSpan(split).subspan(at, n));
        at += n;
    }
    stream.apply(MutableByteSpan(split).subspan(at));
    CHECK(split == whole);

    // Decrypting is the same operation.
    XSalsa20Stream(psk, nonce).apply(split);
    CHECK(split == plain);
}

TEST_CASE("XSalsa20 keystreams differ by key and nonce", "[psk]") {
    const Psk a = Psk::parse(key_file(kHex)).value();
    Psk::Key other_key = a.key();
    other_key[0] ^= 1;
    const Psk b(other_key);
    const auto n1 = random_pnet_nonce();
    auto n2 = n1;
    n2[23] ^= 1;
    auto encrypt = [](const Psk& psk, const XSalsa20Stream::Nonce& nonce) {
        Bytes data(128, 0);
        XSalsa20Stream(psk, nonce).apply(data);
        return data;
    };
    CHECK(encrypt(a, n1) == encrypt(a, n1));
    CHECK(encrypt(a, n1) != encrypt(b, n1));
    CHECK(encrypt(a, n1) != encrypt(a, n2));
    CHECK(random_pnet_nonce() != random_pnet_nonce());
}
