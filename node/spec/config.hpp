#pragma once
// Node configuration: what differs between two nodes of the same swarm (where they keep their
// state, which addresses they use, how they log). Sources in rising precedence: defaults <
// config file (TOML) < environment (SWARMD_...) < command-line flags. docs/config.md lists them.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "crypto/peer_id.hpp"
#include "crypto/psk.hpp"
#include "node/ops/logging.hpp"
#include "node/spec/field_error.hpp"

namespace swarmd::node {

// "trace", "debug", "info", "warn", "error", "off".
FieldResult<spdlog::level::level_enum> parse_log_level(std::string_view text);
FieldResult<LogFormat> parse_log_format(std::string_view text);
// Checks one --debug entry: a category name or "all".
FieldResult<std::string> parse_debug_category(std::string_view text);

// What a node relays for others when it serves circuit relay v2 (a bootstrap node, or a node
// AutoNAT finds public): unset fields keep go-libp2p's defaults (net/relay.hpp ServerOptions).
struct RelayLimits {
    std::optional<std::uint64_t> reservations;         // held at once
    std::optional<std::uint64_t> reservations_per_ip;  // from one IP address
    std::optional<std::uint64_t> circuits;             // open at once
    std::optional<std::uint64_t> circuits_per_peer;    // through one peer
    std::optional<std::uint64_t> circuit_seconds;      // one circuit's duration
    std::optional<std::uint64_t> circuit_bytes;        // one circuit's data, each way

    friend bool operator==(const RelayLimits&, const RelayLimits&) = default;
};

// "circuit_bytes=1048576": one RelayLimits field set; names the allowed keys when wrong.
std::optional<std::string> apply_relay_limit(RelayLimits& limits, std::string_view text);

struct NodeConfig {
    static constexpr const char* kDefaultListen = "/ip4/0.0.0.0/tcp/4001";
    static constexpr const char* kDefaultHttp = "127.0.0.1:7070";
    static constexpr const char* kKeyFileName = "identity.key";
    static constexpr std::size_t kMaxListEntries = 64;

    std::filesystem::path data_dir;  // default: default_data_dir()
    std::vector<std::string> listen{kDefaultListen};
    std::vector<std::string> bootstrap;  // used together with the built-in list
    bool no_default_bootstrap = false;   // the built-in list is left out
    // CIDRs whose addresses count as public (AutoNAT, advertising): for labs and tests only.
    std::vector<std::string> treat_as_public;
    std::string http = kDefaultHttp;  // HOST:PORT of the status server, or "off"
    std::filesystem::path key_file;   // default: <data_dir>/identity.key
    // The private network key (libp2p PSK v1); empty: the open network.
    std::filesystem::path psk_file;
    // When not empty, the only peers the host connects with, either way (base58 peer ids).
    std::vector<std::string> allow_peers;
    std::filesystem::path spec_file;  // empty: the spec compiled into the binary
    RelayLimits relay;
    LogOptions log;

    friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

// One option as it appears in each source.
struct ConfigOption {
    std::string_view key;   // config file key: "data_dir"
    std::string_view flag;  // "--data-dir"
    std::string_view env;   // "SWARMD_DATA_DIR"
    bool list;              // TOML array; repeatable flag; comma-separated in the environment
    bool switch_only;       // TOML boolean; a flag without a value; 1/true/0/false in the env
    std::string_view value_name;
    std::string_view help;
};

extern const std::array<ConfigOption, 14> kConfigOptions;

// The config file itself is named by --config or SWARMD_CONFIG.
inline constexpr std::string_view kConfigFlag = "--config";
inline constexpr std::string_view kConfigEnv = "SWARMD_CONFIG";

// One value given by one source; validated when applied.
struct ConfigSetting {
    const ConfigOption* option = nullptr;
    std::vector<std::string> values;
    std::string
        where;  // how to name it in an error: "node.toml: log_level", "SWARMD_HTTP", "--http"
    int line = 0;
    std::filesystem::path base_dir;  // relative paths from a config file are relative to it
};
using ConfigLayer = std::vector<ConfigSetting>;

using GetEnv = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment.
std::optional<std::string> process_env(std::string_view name);

// $XDG_DATA_HOME/swarmd, else $HOME/.local/share/swarmd, else ./swarmd-data.
std::filesystem::path default_data_dir(const GetEnv& env);
// Reads a config file (TOML, at most 64 KiB): unknown keys and wrong types are errors.
FieldResult<ConfigLayer> read_config_file(const std::filesystem::path& path);
// Reads every SWARMD_... variable named in kConfigOptions.
ConfigLayer read_config_env(const GetEnv& env);
// Applies the layers in order (later wins; a list replaces the list of an earlier layer) over
// the defaults, validating each value.
FieldResult<NodeConfig> resolve_config(std::span<const ConfigLayer> layers, const GetEnv& env);

// The default of an option as --help shows it.
std::string default_text(const ConfigOption& option, const GetEnv& env);

// The key psk_file names, read once at start-up (null without psk_file). A missing file, one
// that group or others may read, or a malformed key is an error naming the file.
FieldResult<std::shared_ptr<const crypto::Psk>> load_psk(const NodeConfig& config);
// allow_peers as the host takes it: null when empty (every peer is admitted).
std::shared_ptr<const std::unordered_set<crypto::PeerId>> allowed_peers(const NodeConfig& config);

}  // namespace swarmd::node
