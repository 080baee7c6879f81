#include "net/log.hpp"

#include "base/log.hpp"

namespace swarmd::net {

spdlog::logger& net_log() {
    static const std::shared_ptr<spdlog::logger> logger = category_log("net");
    return *logger;
}

}  // namespace swarmd::net
