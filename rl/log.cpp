#include "rl/log.hpp"

#include <memory>

#include <spdlog/spdlog.h>

namespace swarmd::rl {

spdlog::logger& rl_log() {
    static const std::shared_ptr<spdlog::logger> logger = [] {
        if (auto existing = spdlog::get("rl")) return existing;
        auto created = spdlog::default_logger()->clone("rl");
        spdlog::register_logger(created);
        return created;
    }();
    return *logger;
}

}  // namespace swarmd::rl
