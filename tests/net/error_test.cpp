#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "net/error.hpp"

using swarmd::net::Errc;

TEST_CASE("net errors convert to std::error_code with distinct messages", "[net][error]") {
    std::set<std::string> messages;
    for (int ev = static_cast<int>(Errc::malformed_multiaddr);
         ev <= static_cast<int>(Errc::invalid_state); ++ev) {
        std::error_code ec = static_cast<Errc>(ev);
        CHECK(ec.category().name() == std::string("net"));
        CHECK(ec.message() != "unknown net error");
        messages.insert(ec.message());
    }
    CHECK(messages.size() == static_cast<std::size_t>(static_cast<int>(Errc::invalid_state)));
    std::error_code ec = Errc::window_exceeded;
    CHECK(ec == Errc::window_exceeded);
    CHECK(ec != Errc::protocol_error);
    CHECK(std::error_code(999, swarmd::net::net_category()).message() == "unknown net error");
}
