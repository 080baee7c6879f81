#pragma once
// `swarmd run`: the daemon. It loads or creates the identity, loads the spec, starts the host,
// joins the swarm, relays and validates gossip, trains on a compute thread, shares its updates,
// reports progress (log lines, /api/status, /metrics) and takes part in the final merge.
#include <chrono>
#include <string>

#include "node/spec/config.hpp"

namespace swarmd::net {
struct ConnectionOptions;
}

namespace swarmd::node {

struct RunOptions {
    static constexpr std::chrono::milliseconds kDefaultRoundInterval{200};
    static constexpr std::chrono::milliseconds kDefaultMergeGrace{4000};
    static constexpr std::chrono::milliseconds kDefaultStatusInterval{2000};

    bool bootstrap_node = false;  // relay and answer peers; train nothing
    std::string policy;  // SAPO: the [[sapo.policies]] architecture to run; empty: the first
    std::chrono::milliseconds round_interval = kDefaultRoundInterval;
    std::chrono::milliseconds merge_grace = kDefaultMergeGrace;
    std::chrono::milliseconds status_interval = kDefaultStatusInterval;
    std::string trace_updates;  // ZO: append update publish/apply events here (bench/testnet)
};

// Sets what the node config says about who may connect (psk_file, allow_peers) on the options
// of a host, the daemon's or a p2p tool's, and logs it (never the key). A psk_file that cannot
// be used throws std::runtime_error naming it.
void apply_network_config(const NodeConfig& config, net::ConnectionOptions& options);

// Runs until SIGINT/SIGTERM; returns the process exit code. A start-up problem throws
// std::runtime_error with a one-line message (the CLI prints it).
int run_daemon(const NodeConfig& config, const RunOptions& options);

}  // namespace swarmd::node
