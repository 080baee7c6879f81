#pragma once
// The "net" log category. Per-message logs are debug level and end in peer=<id>, so a remote
// peer can never flood the default (info) log.
#include <memory>

#include <spdlog/logger.h>

namespace swarmd::net {

// The shared "net" logger; created on first use with spdlog's default sinks.
spdlog::logger& net_log();

}  // namespace swarmd::net
