#pragma once
// The "boot" log category.
#include <spdlog/logger.h>

namespace swarmd::bootstrap {

spdlog::logger& boot_log();

}  // namespace swarmd::bootstrap
