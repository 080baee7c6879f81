#include "node/zo/update_trace.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/encoding.hpp"
#include "base/log.hpp"

namespace swarmd::node {

UpdateTrace::UpdateTrace(const std::filesystem::path& path, std::uint64_t max_events)
    : m_max_events(max_events) {
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        throw std::runtime_error("cannot open the update trace " + path.string() + ": " +
                                 std::strerror(errno));
    }
}

UpdateTrace::~UpdateTrace() {
    if (m_fd >= 0) ::close(m_fd);
}

void UpdateTrace::record(Event event, const training::Update& update) noexcept {
    const auto n = m_events.fetch_add(1, std::memory_order_relaxed);
    if (n > m_max_events) return;
    try {
        if (n == m_max_events) {
            category_log("train")->warn("update trace: {} events written; tracing stops", n);
            return;
        }
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        const auto ns = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                        static_cast<std::uint64_t>(ts.tv_nsec);
        const auto line =
            fmt::format("{} {} {} {} {}\n", ns, event == Event::publish ? "publish" : "apply",
                        hex_encode(update.author), update.round, update.index);
        if (::write(m_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) &&
            !m_failed.exchange(true)) {
            category_log("train")->warn("update trace: a write failed: {}", std::strerror(errno));
        }
    } catch (...) {
        // Out of memory while formatting or logging: the trace is only a measurement aid.
    }
}

}  // namespace swarmd::node
