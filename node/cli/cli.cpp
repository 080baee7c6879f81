#include "node/cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <vector>

#include "node/version.hpp"

namespace swarmd::node {
namespace {

std::string option_help(const ConfigOption& o) {
    return std::string(o.help) + " (env " + std::string(o.env) + ")";
}

}  // namespace

void CliContext::on_run(CLI::App* command, Handler handler) {
    m_handlers[command] = std::move(handler);
}

int cli_error(std::string_view what) {
    std::string line(what);
    for (char& c : line) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    std::cerr << "swarmd: " << line << "\n";
    return 1;
}

int run_cli(int argc, char** argv) {
    CLI::App app{"swarmd: a peer-to-peer daemon for decentralized training"};
    app.set_version_flag("--version", version_line());
    app.require_subcommand(1);
    // Subcommands pass node options they do not know up to the top level, so
    // `swarmd spec show --spec FILE` and `swarmd --spec FILE spec show` both work.
    app.fallthrough();
    app.footer(
        "Node options may be given before or after the subcommand. Precedence: flags > "
        "environment > config file > defaults. See docs/config.md.");

    std::string config_path;
    app.add_option(std::string(kConfigFlag), config_path,
                   "Node config file (TOML) (env " + std::string(kConfigEnv) + ")")
        ->type_name("FILE")
        ->default_str("none");

    std::vector<std::vector<std::string>> flag_values(kConfigOptions.size());
    std::vector<CLI::Option*> flag_options;
    for (std::size_t i = 0; i < kConfigOptions.size(); ++i) {
        const auto& o = kConfigOptions[i];
        if (o.switch_only) {
            flag_options.push_back(app.add_flag(std::string(o.flag))->description(option_help(o)));
            continue;
        }
        auto* opt = app.add_option(std::string(o.flag), flag_values[i], option_help(o))
                        ->type_name(std::string(o.value_name))
                        ->default_str(default_text(o, process_env));
        if (o.list) {
            // One value per occurrence, so `--bootstrap X run` never swallows "run".
            opt->delimiter(',')->allow_extra_args(false);
        } else {
            opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        }
        flag_options.push_back(opt);
    }

    CliContext ctx;
    add_keys_commands(app, ctx);
    add_spec_commands(app, ctx);
    add_run_commands(app, ctx);
    add_doctor_command(app, ctx);
    add_p2p_commands(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    // Resolve the node config: file < environment < flags.
    std::vector<ConfigLayer> layers;
    if (config_path.empty()) config_path = process_env(kConfigEnv).value_or("");
    if (!config_path.empty()) {
        auto file = read_config_file(config_path);
        if (!file) return cli_error(file.error().to_string());
        layers.push_back(std::move(file).value());
    }
    layers.push_back(read_config_env(process_env));
    ConfigLayer flags;
    for (std::size_t i = 0; i < kConfigOptions.size(); ++i) {
        if (flag_options[i]->count() == 0) continue;
        std::vector<std::string> values = flag_values[i];
        if (kConfigOptions[i].switch_only) values = {"true"};
        if (!kConfigOptions[i].list && values.size() > 1)
            values.erase(values.begin(), values.end() - 1);
        flags.push_back(ConfigSetting{
            &kConfigOptions[i], std::move(values), std::string(kConfigOptions[i].flag), 0, {}});
    }
    layers.push_back(std::move(flags));
    auto config = resolve_config(layers, process_env);
    if (!config) return cli_error(config.error().to_string());
    ctx.m_config = std::move(config).value();
    setup_logging(ctx.m_config.log);

    // The deepest subcommand given on the command line is the one to run.
    const CLI::App* chosen = &app;
    while (!chosen->get_subcommands().empty()) chosen = chosen->get_subcommands().front();
    auto handler = ctx.m_handlers.find(chosen);
    if (handler == ctx.m_handlers.end()) return cli_error("no command given; see --help");
    try {
        return handler->second();
    } catch (const std::exception& e) {
        return cli_error(e.what());
    }
}

}  // namespace swarmd::node
