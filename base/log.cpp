#include "base/log.hpp"

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

}  // namespace swarmd
