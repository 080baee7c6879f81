// swarmd run, swarmd status, swarmd merge: the daemon, a look at a running one, and asking the
// swarm to merge.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "node/cli/cli.hpp"
#include "node/daemon.hpp"
#include "node/ops/http_server.hpp"

namespace swarmd::node {
namespace {

// One HTTP request to http://<host:port><target>, with a deadline; throws on a transport
// failure. A POST carries a JSON body.
std::pair<unsigned, std::string> http_request(const std::string& address, const std::string& target,
                                              const std::string* json_body = nullptr,
                                              const std::string& token = {}) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    namespace http = beast::http;
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad HTTP address " + address);
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
    http::request<http::string_body> req{json_body ? http::verb::post : http::verb::get, target,
                                         11};
    req.set(http::field::host, address);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (json_body) {
        req.set(http::field::content_type, "application/json");
        req.body() = *json_body;
        req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    http::read(stream, buffer, parser);
    return {parser.get().result_int(), parser.get().body()};
}

int request_merge(const std::string& address, long round, const std::filesystem::path& data_dir) {
    const std::string body = round > 0 ? nlohmann::json{{"round", round}}.dump() : "{}";
    const auto token_path = data_dir / kHttpTokenFileName;
    auto token = read_http_token(token_path);
    if (!token)
        return cli_error("cannot read the node's HTTP token " + token_path.string() + ": " +
                         token.error().message() + "; give the node's --data-dir");
    std::pair<unsigned, std::string> answer;
    try {
        answer = http_request(address, "/api/merge", &body, token.value());
    } catch (const std::exception& e) {
        return cli_error("no swarmd answers on " + address + " (" + e.what() +
                         "); is the node running, and is --http the same?");
    }
    auto j = nlohmann::json::parse(answer.second, nullptr, false);
    if (answer.first != 200) {
        return cli_error("merge refused: " +
                         (j.is_object() ? j.value("error", answer.second) : answer.second));
    }
    std::cout << "merge requested: the swarm merges at round "
              << (j.is_object() ? j.value("merge_round", 0) : 0) << "\n";
    return 0;
}

std::string fixed(double v, int digits) {
    if (v < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

int print_status(const std::string& address, bool one_line, const std::filesystem::path& data_dir) {
    nlohmann::json s;
    // A node on a non-loopback address wants its token for reads too; send it when we have it.
    auto token = read_http_token(data_dir / kHttpTokenFileName);
    try {
        s = nlohmann::json::parse(
            http_get(address, "/api/status", token ? token.value() : std::string()));
    } catch (const std::exception& e) {
        return cli_error("no swarmd answers on " + address + " (" + e.what() +
                         "); is the node running, and is --http the same?");
    }
    if (one_line) {
        // For scripts and the testnet table: fixed fields, space-separated.
        const auto hash = s.value("merged_hash", "");
        if (s.value("mode", "") == "sapo") {
            std::cout << s.value("peer_id", "?").substr(0, 16) << " " << s.value("role", "?")
                      << " round " << s.value("round", 0) << "/" << s.value("merge_round", 0)
                      << " peers " << s.value("connections", 0) << " policy "
                      << s.value("policy", "-") << " reward " << fixed(s.value("reward", -1.0), 3)
                      << " external " << s.value("external_used", 0) << " accuracy "
                      << fixed(s.value("accuracy", -1.0), 3) << " merge "
                      << s.value("merge_state", "?") << " " << (hash.empty() ? "-" : hash) << "\n";
            return 0;
        }
        std::cout << s.value("peer_id", "?").substr(0, 16) << " " << s.value("role", "?")
                  << " round " << s.value("round", 0) << "/" << s.value("merge_round", 0)
                  << " peers " << s.value("connections", 0) << " updates " << s.value("updates", 0)
                  << " loss " << fixed(s.value("loss", -1.0), 4) << " accuracy "
                  << fixed(s.value("accuracy", -1.0), 3) << " merge " << s.value("merge_state", "?")
                  << " " << (hash.empty() ? "-" : hash) << "\n";
        return 0;
    }
    auto row = [](const std::string& k, const std::string& v) {
        std::cout << "  " << k << std::string(k.size() < 14 ? 14 - k.size() : 1, ' ') << v << "\n";
    };
    row("peer id", s.value("peer_id", ""));
    for (const auto& a : s.value("addresses", nlohmann::json::array()))
        row("address", a.get<std::string>());
    row("swarm", s.value("swarm_id", "").substr(0, 16) + "… (" + s.value("spec", "") + ", " +
                     s.value("mode", "") + ", " + s.value("role", "") + ")");
    row("round",
        std::to_string(s.value("round", 0)) + " / " + std::to_string(s.value("merge_round", 0)));
    row("peers", std::to_string(s.value("connections", 0)) + " connections, " +
                     std::to_string(s.value("gossip_peers", 0)) + " gossip");
    row("messages", std::to_string(s.value("messages_in", 0)) + " in, " +
                        std::to_string(s.value("messages_out", 0)) + " out, " +
                        std::to_string(s.value("bytes_out", 0)) + " bytes out");
    row("updates", std::to_string(s.value("updates", 0)) + " in the log");
    row("loss", fixed(s.value("loss", -1.0), 4));
    row("accuracy", fixed(s.value("accuracy", -1.0), 3));
    row("merge",
        s.value("merge_state", "") + (s.value("merged_hash", "").empty()
                                          ? ""
                                          : " " + s.value("merged_hash", "").substr(0, 16)));
    return 0;
}

}  // namespace

std::string http_get(const std::string& address, const std::string& target,
                     const std::string& token) {
    auto [status, body] = http_request(address, target, nullptr, token);
    if (status != 200) throw std::runtime_error("HTTP " + std::to_string(status));
    return body;
}

void add_run_commands(CLI::App& app, CliContext& ctx) {
    auto options = std::make_shared<RunOptions>();
    auto round_ms = std::make_shared<long>(RunOptions::kDefaultRoundInterval.count());
    auto grace_ms = std::make_shared<long>(RunOptions::kDefaultMergeGrace.count());
    auto* run = app.add_subcommand("run", "Run the node: join the swarm, train, share, merge");
    run->add_flag("--bootstrap-node", options->bootstrap_node,
                  "Relay the swarm's gossip and answer peers; train nothing");
    run->add_option(
        "--policy", options->policy,
        "SAPO: the policy architecture to run (a [[sapo.policies]] name; default the first)");
    run->add_option("--round-interval-ms", *round_ms, "Minimum time per training round")
        ->capture_default_str()
        ->check(CLI::Range(0L, 3600L * 1000));
    run->add_option("--merge-grace-ms", *grace_ms, "Time to wait for late updates before merging")
        ->capture_default_str()
        ->check(CLI::Range(0L, 3600L * 1000));
    // For bench/testnet: not shown in --help.
    run->add_option("--trace-updates", options->trace_updates,
                    "Append a line per ZO update published or applied to this file")
        ->group("");
    ctx.on_run(run, [&ctx, options, round_ms, grace_ms] {
        options->round_interval = std::chrono::milliseconds(*round_ms);
        options->merge_grace = std::chrono::milliseconds(*grace_ms);
        return run_daemon(ctx.config(), *options);
    });

    auto one_line = std::make_shared<bool>(false);
    auto* status =
        app.add_subcommand("status", "Show a running node's status (from its --http address)");
    status->add_flag("--line", *one_line, "One line of fixed fields, for scripts");
    ctx.on_run(status, [&ctx, one_line] {
        return print_status(ctx.config().http, *one_line, ctx.config().data_dir);
    });

    auto merge_round = std::make_shared<long>(0);
    auto* merge = app.add_subcommand(
        "merge", "Ask the swarm to merge now, through a running node (from its --http address)");
    merge
        ->add_option("--round", *merge_round,
                     "Merge round to request (default: a little ahead of the node's round)")
        ->check(CLI::Range(1L, std::numeric_limits<long>::max()));
    ctx.on_run(merge, [&ctx, merge_round] {
        return request_merge(ctx.config().http, *merge_round, ctx.config().data_dir);
    });
}

}  // namespace swarmd::node
