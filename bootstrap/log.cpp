#include "bootstrap/log.hpp"

#include <spdlog/spdlog.h>

namespace swarmd::bootstrap {

spdlog::logger& boot_log() {
    if (auto existing = spdlog::get("boot")) return *existing;
    auto created = spdlog::default_logger()->clone("boot");
    spdlog::register_logger(created);
    return *created;
}

}  // namespace swarmd::bootstrap
