#pragma once
// An opt-in trace of ZO updates, for the testnet benchmark (bench/testnet): each event is one
// line appended to a file,
//   <CLOCK_MONOTONIC ns> <publish|apply> <author hex> <round> <index>
// Processes on one Linux host share CLOCK_MONOTONIC, so a publish in one node's trace and an
// apply in another's give the time the update took to reach that node. `swarmd run
// --trace-updates FILE` turns it on; it is off by default and stops after max_events lines.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "training/zo.hpp"

namespace swarmd::node {

class UpdateTrace {
  public:
    static constexpr std::uint64_t kDefaultMaxEvents = 1'000'000;
    enum class Event { publish, apply };

    // Opens `path` for appending; throws std::runtime_error when it cannot.
    explicit UpdateTrace(const std::filesystem::path& path,
                         std::uint64_t max_events = kDefaultMaxEvents);
    ~UpdateTrace();
    UpdateTrace(const UpdateTrace&) = delete;
    UpdateTrace& operator=(const UpdateTrace&) = delete;

    // From any thread: each line is a single write() to an O_APPEND file, so lines from the
    // io and compute threads never interleave.
    void record(Event event, const training::Update& update) noexcept;

  private:
    int m_fd = -1;
    std::uint64_t m_max_events;
    std::atomic<std::uint64_t> m_events{0};
    std::atomic<bool> m_failed{false};  // a write failed (warned once)
};

}  // namespace swarmd::node
