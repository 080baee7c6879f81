#pragma once
// Runs a test coroutine on an io_context with a hard limit, so a hung test fails instead of
// blocking the suite; Catch2 assertions inside the coroutine propagate as exceptions.
#include <chrono>
#include <exception>
#include <functional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

namespace swarmd::net::testing {

template <class MakeCoroutine>
void run(boost::asio::io_context& io, MakeCoroutine make,
         std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    bool done = false;
    std::exception_ptr failure;
    boost::asio::co_spawn(io, make(), [&](std::exception_ptr e) {
        failure = e;
        done = true;
        io.stop();
    });
    io.run_for(limit);
    if (failure) std::rethrow_exception(failure);
    REQUIRE(done);
    // Let closing connections finish their last handlers before the hosts go away.
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
}

// Polls `condition` every millisecond (for effects on the other host of a connection).
inline boost::asio::awaitable<void> wait_until(
    std::function<bool()> condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(boost::asio::use_awaitable);
    }
}

}  // namespace swarmd::net::testing
