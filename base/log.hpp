#pragma once
// Log categories ("net", "gossip", "boot", "train", "rl", "merge", "node"): one spdlog logger per
// name. node/ops/logging.cpp configures their sinks and levels; a module asks for its category
// here. Before the configuration runs (tests, tools), the category is a clone of spdlog's default
// logger registered under its name, and the configuration later adjusts that same object, so a
// pointer a module holds stays the category's logger.
#include <memory>
#include <string_view>

#include <spdlog/logger.h>

namespace swarmd {

// The logger of `category`, registered on first use. Thread-safe.
std::shared_ptr<spdlog::logger> category_log(std::string_view category);

}  // namespace swarmd
