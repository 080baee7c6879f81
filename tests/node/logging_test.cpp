#include <catch2/catch.hpp>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "node/ops/logging.hpp"
#include "node/spec/config.hpp"

using namespace swarmd::node;
using swarmd::category_log;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

// The loggers are process-wide: a test that points them at its own stream points them back at
// stderr when it ends, however it ends, so that no later test writes to a destroyed stream.
struct RestoreLogging {
    ~RestoreLogging() { setup_logging(LogOptions{}); }
};

}  // namespace

TEST_CASE("the debug option lowers only the named categories to debug", "[logging]") {
    std::ostringstream out;
    RestoreLogging restore;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    LogOptions options;
    options.debug = {"net", "gossip"};
    setup_logging(options, sink);

    for (auto category : kLogCategories) REQUIRE(spdlog::get(std::string(category)));
    CHECK(category_log("net")->level() == spdlog::level::debug);
    CHECK(category_log("gossip")->level() == spdlog::level::debug);
    CHECK(category_log("train")->level() == spdlog::level::info);
    CHECK(spdlog::default_logger()->name() == "node");

    category_log("net")->debug("dialing peer={}", "12D3KooWx");
    category_log("train")->debug("hidden");
    category_log("train")->info("round 3 loss 0.5");
    auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("[net] dialing peer=12D3KooWx") != std::string::npos);
    CHECK(lines[0].find(" debug [net]") != std::string::npos);
    CHECK(lines[1].find("[train] round 3 loss 0.5") != std::string::npos);

    // "all", and a quieter base level that --debug still overrides for its categories.
    options.level = spdlog::level::warn;
    options.debug = {"all"};
    setup_logging(options, sink);
    for (auto category : kLogCategories)
        CHECK(category_log(category)->level() == spdlog::level::debug);
    options.debug = {"rl"};
    setup_logging(options, sink);
    CHECK(category_log("rl")->level() == spdlog::level::debug);
    CHECK(category_log("merge")->level() == spdlog::level::warn);
    // Reconfiguring keeps one logger per name, so pointers held by modules stay valid.
    auto held = spdlog::get("merge");
    setup_logging(LogOptions{}, sink);
    CHECK(spdlog::get("merge") == held);
    CHECK(held->level() == spdlog::level::info);
}

TEST_CASE("the json log format writes one JSON object per line", "[logging]") {
    std::ostringstream out;
    RestoreLogging restore;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    LogOptions options;
    options.format = LogFormat::json;
    setup_logging(options, sink);
    category_log("gossip")->info("message with \"quotes\", a\nnewline and \xff bad UTF-8");
    category_log("boot")->warn("no peers");
    // Valid non-ASCII text, a backslash, a tab and a control character stay what they were.
    category_log("train")->error("Zürich → 東京 \\ back\tslash \x01 end");
    auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 3);
    auto first = nlohmann::json::parse(lines[0]);
    CHECK(first["level"] == "info");
    CHECK(first["cat"] == "gossip");
    CHECK(first["msg"].get<std::string>().find("\"quotes\", a\nnewline") != std::string::npos);
    CHECK(first["msg"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
    std::string ts = first["ts"];
    CHECK(ts.size() == 24);
    CHECK(ts[10] == 'T');
    CHECK(ts.back() == 'Z');
    auto second = nlohmann::json::parse(lines[1]);
    CHECK(second["level"] == "warn");
    CHECK(second["msg"] == "no peers");
    auto third = nlohmann::json::parse(lines[2]);
    CHECK(third["level"] == "error");
    CHECK(third["cat"] == "train");
    CHECK(third["msg"] == "Zürich → 東京 \\ back\tslash \x01 end");
    // Each line is exactly one object with these four keys, in this order.
    for (const auto& line : lines) {
        auto object = nlohmann::ordered_json::parse(line);
        std::vector<std::string> keys;
        for (const auto& item : object.items()) keys.push_back(item.key());
        CHECK(keys == std::vector<std::string>{"ts", "level", "cat", "msg"});
    }
    // The raw line escapes the newline, the tab and the control character (one line per message).
    CHECK(lines[2].find("\\t") != std::string::npos);
    CHECK(lines[2].find("\\u0001") != std::string::npos);
}

TEST_CASE("log option values are checked", "[logging]") {
    CHECK(parse_log_level("trace").value() == spdlog::level::trace);
    CHECK(parse_log_level("error").value() == spdlog::level::err);
    CHECK_FALSE(parse_log_level("verbose"));
    CHECK(parse_log_format("json").value() == LogFormat::json);
    CHECK_FALSE(parse_log_format("JSON"));
    CHECK(parse_debug_category("all").value() == "all");
    CHECK(parse_debug_category("merge").value() == "merge");
    auto bad = parse_debug_category("p2p");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("net, gossip, boot, train, rl, merge, node, all") !=
          std::string::npos);
    CHECK(log_level_name(spdlog::level::warn) == "warn");
}
