#include "rl/log.hpp"

#include "base/log.hpp"

namespace swarmd::rl {

spdlog::logger& rl_log() {
    static const std::shared_ptr<spdlog::logger> logger = category_log("rl");
    return *logger;
}

}  // namespace swarmd::rl
