#pragma once
// The "rl" log category. Events caused by a peer's batch (rejections and why) are debug level and
// name the author, so a remote peer can never flood the default (info) log; a node's round
// summary is debug level too.
#include <spdlog/logger.h>

namespace swarmd::rl {

// The shared "rl" logger; created on first use with spdlog's default sinks.
spdlog::logger& rl_log();

}  // namespace swarmd::rl
