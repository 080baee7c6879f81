#include "bootstrap/hello_message.hpp"

#include <algorithm>

#include "bootstrap/error.hpp"

namespace swarmd::bootstrap {

Bytes encode_hello(const Hello& hello) {
    // Sized first, not grown from an initializer list: GCC 12 warns (-Warray-bounds) falsely on
    // that.
    Bytes out(3 + hello.swarm_id.size());
    out[0] = kHelloVersion;
    out[1] = static_cast<std::uint8_t>(hello.role);
    out[2] = static_cast<std::uint8_t>(hello.status);
    std::copy(hello.swarm_id.begin(), hello.swarm_id.end(), out.begin() + 3);
    return out;
}

Result<Hello> decode_hello(ByteSpan bytes) {
    if (bytes.size() != kHelloSize || bytes[0] != kHelloVersion) return Errc::bad_hello;
    if (bytes[1] > static_cast<std::uint8_t>(Role::bootstrap)) return Errc::bad_hello;
    if (bytes[2] > static_cast<std::uint8_t>(HelloStatus::rejected_low_score))
        return Errc::bad_hello;
    Hello hello;
    hello.role = static_cast<Role>(bytes[1]);
    hello.status = static_cast<HelloStatus>(bytes[2]);
    std::copy(bytes.begin() + 3, bytes.end(), hello.swarm_id.begin());
    return hello;
}

}  // namespace swarmd::bootstrap
