#include "base/log.hpp"

#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>

namespace swarmd {

std::shared_ptr<spdlog::logger> category_log(std::string_view category) {
    const std::string name(category);
    if (auto existing = spdlog::get(name)) return existing;
    auto created = spdlog::default_logger()->clone(name);
    try {
        spdlog::register_logger(created);
    } catch (const spdlog::spdlog_ex&) {
        // Another thread registered the name between the lookup and here: use its logger.
        if (auto existing = spdlog::get(name)) return existing;
    }
    return created;
}

bool LogBudget::take(std::uint64_t& held, Clock::time_point now) {
    std::lock_guard lock(m_mutex);
    if (m_at != Clock::time_point{} && now > m_at) {
        const double seconds = std::chrono::duration<double>(now - m_at).count();
        m_tokens = std::min(m_burst, m_tokens + seconds * m_rate);
    }
    m_at = std::max(m_at, now);
    if (m_tokens < 1.0) {
        ++m_held;
        return false;
    }
    m_tokens -= 1.0;
    held = m_held;
    m_held = 0;
    return true;
}

}  // namespace swarmd
