#pragma once
// The /swarmd/hello/1.0.0 message (bootstrap/hello.hpp runs the exchange): version, role, status
// and swarm id in kHelloSize bytes. Sans-I/O, so the clang fuzz build links it without Asio.
#include <cstdint>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"

namespace swarmd::bootstrap {

inline constexpr std::uint8_t kHelloVersion = 1;
inline constexpr std::size_t kHelloSize = 35;

enum class Role : std::uint8_t { trainer = 0, bootstrap = 1 };
enum class HelloStatus : std::uint8_t { ok = 0, different_swarm = 1, rejected_low_score = 2 };

struct Hello {
    crypto::Digest swarm_id{};
    Role role = Role::trainer;
    HelloStatus status = HelloStatus::ok;  // meaningful in the responder's reply
};

Bytes encode_hello(const Hello& hello);
Result<Hello> decode_hello(ByteSpan bytes);

}  // namespace swarmd::bootstrap
