#pragma once
// The swarmd command line. cli.cpp owns the top-level app and the node options (config file <
// environment < flags, accepted before or after any subcommand); each group of subcommands
// lives in its own file and registers itself with one call from run_cli:
//
//     void add_spec_commands(CLI::App& app, CliContext& ctx) {
//         auto* show = app.add_subcommand("show", "...");
//         ctx.on_run(show, [&ctx] { ...; return 0; });   // runs after parsing and config
//     }
//
// A handler fails by returning cli_error(...) or by throwing (the message is printed the same way).
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "node/spec/config.hpp"

namespace CLI {
class App;
}

namespace swarmd::node {

class CliContext {
  public:
    using Handler = std::function<int()>;

    // Runs `handler` when `command` is the subcommand chosen on the command line; it returns the
    // process exit code.
    void on_run(CLI::App* command, Handler handler);
    // The node config resolved from defaults < file < environment < flags; valid in handlers.
    const NodeConfig& config() const { return m_config; }

  private:
    friend int run_cli(int argc, char** argv);
    std::map<const CLI::App*, Handler> m_handlers;
    NodeConfig m_config;
};

// Prints "swarmd: <what>" on stderr as one line and returns exit code 1.
int cli_error(std::string_view what);

// GET http://<address><target> (5 s deadline) with an optional bearer token: the body of a 200
// answer; throws on anything else.
std::string http_get(const std::string& address, const std::string& target,
                     const std::string& token = {});

void add_keys_commands(CLI::App& app, CliContext& ctx);   // keygen, id
void add_spec_commands(CLI::App& app, CliContext& ctx);   // spec show, spec check
void add_run_commands(CLI::App& app, CliContext& ctx);    // run, status
void add_doctor_command(CLI::App& app, CliContext& ctx);  // doctor
void add_p2p_commands(CLI::App& app, CliContext& ctx);    // p2p listen|ping|identify|sub|pub

// Parses the command line and runs the chosen subcommand; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace swarmd::node
