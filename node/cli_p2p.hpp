#pragma once
// `swarmd p2p ...`: the tools a libp2p user expects (listen, ping, identify).
#include <CLI/CLI.hpp>

namespace swarmd::node {

// Registers the p2p subcommands on `app`. They run from their CLI11 callbacks; a failure leaves
// parse() as CLI::RuntimeError carrying the exit code (after printing the reason on stderr).
void add_p2p_commands(CLI::App& app);

}  // namespace swarmd::node
