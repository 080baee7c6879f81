#include "node/ops/logging.hpp"

#include <algorithm>
#include <ctime>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace swarmd::node {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5!l%$ [%n] %v";

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 6> kLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"off", spdlog::level::off},
}};

// One JSON object per line; invalid UTF-8 in a message (peer-supplied text) becomes U+FFFD so
// every line stays valid JSON.
class JsonFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto since_epoch = msg.time.time_since_epoch();
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
        std::time_t t = static_cast<std::time_t>(seconds.count());
        std::tm tm{};
        gmtime_r(&t, &tm);
        char ts[40];
        std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(millis));

        nlohmann::ordered_json line;
        line["ts"] = ts;
        line["level"] = log_level_name(msg.level);
        line["cat"] = std::string(msg.logger_name.data(), msg.logger_name.size());
        line["msg"] = std::string(msg.payload.data(), msg.payload.size());
        std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        dest.append(text.data(), text.data() + text.size());
        dest.push_back('\n');
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

}  // namespace

std::optional<spdlog::level::level_enum> log_level_named(std::string_view name) {
    for (const auto& [n, value] : kLevels) {
        if (n == name) return value;
    }
    return std::nullopt;
}

std::string_view log_level_name(spdlog::level::level_enum level) {
    for (const auto& [name, value] : kLevels) {
        if (value == level) return name;
    }
    return "critical";
}

std::string_view to_string(LogFormat format) { return format == LogFormat::json ? "json" : "text"; }

std::unique_ptr<spdlog::formatter> make_json_formatter() {
    return std::make_unique<JsonFormatter>();
}

void setup_logging(const LogOptions& options, spdlog::sink_ptr sink) {
    if (!sink) {
        if (options.format == LogFormat::json) {
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        } else {
            sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        }
    }
    if (options.format == LogFormat::json) {
        sink->set_formatter(make_json_formatter());
    } else {
        sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
            kTextPattern, spdlog::pattern_time_type::utc));
    }
    bool all = std::find(options.debug.begin(), options.debug.end(), "all") != options.debug.end();
    for (auto category : kLogCategories) {
        std::string name(category);
        auto logger = spdlog::get(name);
        if (!logger) {
            logger = std::make_shared<spdlog::logger>(name, sink);
            spdlog::register_logger(logger);
        } else {
            logger->sinks().assign(1, sink);
        }
        bool debug = all || std::find(options.debug.begin(), options.debug.end(), name) !=
                                options.debug.end();
        logger->set_level(debug ? std::min(options.level, spdlog::level::debug) : options.level);
        if (category == "node") spdlog::set_default_logger(logger);
    }
}

}  // namespace swarmd::node
