#pragma once
// Log categories ("net", "gossip", "boot", "train", "rl", "merge", "node"): one spdlog logger per
// name. node/ops/logging.cpp configures their sinks and levels; a module asks for its category
// here. Before the configuration runs (tests, tools), the category is a clone of spdlog's default
// logger registered under its name, and the configuration later adjusts that same object, so a
// pointer a module holds stays the category's logger.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include <spdlog/logger.h>

namespace swarmd {

// The logger of `category`, registered on first use. Thread-safe.
std::shared_ptr<spdlog::logger> category_log(std::string_view category);

// A budget for log lines that peers can cause at will (a failed inbound connection, say): a
// burst, then `per_minute`, so that a stranger cannot fill the disk with them. The lines held
// back are counted and the next line let through says how many. Thread-safe.
class LogBudget {
  public:
    using Clock = std::chrono::steady_clock;

    LogBudget(double burst, double per_minute)
        : m_burst(burst), m_rate(per_minute / 60.0), m_tokens(burst) {}
    // Whether to write this line; when so, `held` is set to the lines held back since the last.
    bool take(std::uint64_t& held, Clock::time_point now = Clock::now());

  private:
    std::mutex m_mutex;
    double m_burst;
    double m_rate;  // per second
    double m_tokens;
    Clock::time_point m_at{};
    std::uint64_t m_held = 0;
};

}  // namespace swarmd
