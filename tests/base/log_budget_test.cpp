#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include "base/log.hpp"

using namespace swarmd;
using namespace std::chrono_literals;

TEST_CASE("a log budget lets a burst through, then its rate, and counts what it held back",
          "[log]") {
    LogBudget budget(3, 60);  // a burst of 3, then one a second
    const auto t0 = LogBudget::Clock::time_point{} + 1h;
    std::uint64_t held = 99;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(budget.take(held, t0));
        CHECK(held == 0);
    }
    // The burst is spent: the next lines within the same second are held back.
    for (int i = 0; i < 5; ++i) CHECK_FALSE(budget.take(held, t0 + 100ms * i));
    // A second later one token is back; the line that goes out says five were held.
    REQUIRE(budget.take(held, t0 + 1100ms));
    CHECK(held == 5);
    CHECK_FALSE(budget.take(held, t0 + 1200ms));
    // A long quiet spell refills the burst, no more.
    int let_through = 0;
    for (int i = 0; i < 10; ++i) let_through += budget.take(held, t0 + 1h) ? 1 : 0;
    CHECK(let_through == 3);
    // A clock read out of order (another thread's earlier time) neither refills nor breaks it.
    CHECK_FALSE(budget.take(held, t0 + 30min));
}
