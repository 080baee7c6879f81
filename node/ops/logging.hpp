#pragma once
// Logging by category: one spdlog logger per category, registered under its name, so any module
// logs with `spdlog::get("net")` (falling back to spdlog::default_logger() when the daemon has
// not set logging up, as in unit tests). `--debug=net,gossip` lowers those categories to debug.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace swarmd::node {

inline constexpr std::array<std::string_view, 7> kLogCategories = {"net", "gossip", "boot", "train",
                                                                   "rl",  "merge",  "node"};

enum class LogFormat { text, json };

struct LogOptions {
    static constexpr spdlog::level::level_enum kDefaultLevel = spdlog::level::info;

    spdlog::level::level_enum level = kDefaultLevel;
    // Categories logged at debug level whatever `level` is; "all" means every category.
    std::vector<std::string> debug;
    LogFormat format = LogFormat::text;

    friend bool operator==(const LogOptions&, const LogOptions&) = default;
};

// The level named "trace", "debug", "info", "warn", "error" or "off" (node/spec/config.hpp
// parses them from flags and config files).
std::optional<spdlog::level::level_enum> log_level_named(std::string_view name);
std::string_view to_string(LogFormat format);
std::string_view log_level_name(spdlog::level::level_enum level);

// Creates (or reconfigures) the logger of every category with one shared sink: stderr unless
// `sink` is given. Text lines read "2026-11-25 16:01:38.123 info  [net] message"; JSON lines are
// one object each: {"ts":"2026-11-25T16:01:38.123Z","level":"info","cat":"net","msg":"..."}.
// The "node" logger becomes spdlog's default logger.
void setup_logging(const LogOptions& options, spdlog::sink_ptr sink = nullptr);

// The formatter behind --log-format json, exposed for tests.
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace swarmd::node
