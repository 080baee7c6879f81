#include "bootstrap/log.hpp"

#include <memory>

#include "base/log.hpp"

namespace swarmd::bootstrap {

spdlog::logger& boot_log() {
    static const std::shared_ptr<spdlog::logger> logger = category_log("boot");
    return *logger;
}

}  // namespace swarmd::bootstrap
