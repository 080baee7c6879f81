#include "node/spec/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"
#include "node/spec/toml_util.hpp"

namespace swarmd::node {

FieldResult<spdlog::level::level_enum> parse_log_level(std::string_view text) {
    if (auto level = log_level_named(text)) return *level;
    return FieldError{
        "",
        detail::show(text) + " is not a log level (allowed: trace, debug, info, warn, error, off)"};
}

FieldResult<LogFormat> parse_log_format(std::string_view text) {
    if (text == "text") return LogFormat::text;
    if (text == "json") return LogFormat::json;
    return FieldError{"", detail::show(text) + " is not a log format (allowed: text, json)"};
}

FieldResult<std::string> parse_debug_category(std::string_view text) {
    if (text == "all" ||
        std::find(kLogCategories.begin(), kLogCategories.end(), text) != kLogCategories.end())
        return std::string(text);
    std::string list;
    for (auto c : kLogCategories) list += std::string(c) + ", ";
    return FieldError{"", detail::show(text) + " is not a log category (allowed: " + list + "all)"};
}

const std::array<ConfigOption, 14> kConfigOptions = {{
    {"data_dir", "--data-dir", "SWARMD_DATA_DIR", false, false, "DIR",
     "Directory for the node's key, peer store, update log and checkpoints"},
    {"listen", "--listen", "SWARMD_LISTEN", true, false, "MADDR",
     "Address to listen on (repeatable; a list replaces the default)"},
    {"bootstrap", "--bootstrap", "SWARMD_BOOTSTRAP", true, false, "MADDR",
     "Bootstrap peer, added to the built-in list (repeatable)"},
    {"no_default_bootstrap", "--no-default-bootstrap", "SWARMD_NO_DEFAULT_BOOTSTRAP", false, true,
     "",
     "Leave out the built-in bootstrap list (the public libp2p DHT peers): join only through "
     "--bootstrap peers and stored peers"},
    {"treat_as_public", "--treat-as-public", "SWARMD_TREAT_AS_PUBLIC", true, false, "CIDR",
     "Address range to treat as publicly reachable (repeatable; for network labs: reachability "
     "checks and advertised addresses)"},
    {"relay_limit", "--relay-limit", "SWARMD_RELAY_LIMIT", true, false, "KEY=N",
     "A limit of the circuit relay this node serves when public (repeatable): reservations, "
     "reservations_per_ip, circuits, circuits_per_peer, circuit_seconds, circuit_bytes"},
    {"http", "--http", "SWARMD_HTTP", false, false, "HOST:PORT",
     "Status and metrics HTTP server address, or \"off\""},
    {"key_file", "--key-file", "SWARMD_KEY_FILE", false, false, "FILE",
     "Identity key file (default: identity.key in the data directory)"},
    {"psk_file", "--psk-file", "SWARMD_PSK_FILE", false, false, "FILE",
     "Private network key file (libp2p PSK, mode 0600): connect only with holders of the same "
     "key"},
    {"allow_peers", "--allow-peer", "SWARMD_ALLOW_PEERS", true, false, "PEER_ID",
     "Connect only with these peers, either way (repeatable; default: any peer)"},
    {"spec", "--spec", "SWARMD_SPEC", false, false, "FILE",
     "Swarm spec file (default: the spec compiled into swarmd)"},
    {"log_level", "--log-level", "SWARMD_LOG_LEVEL", false, false, "LEVEL",
     "Log level: trace, debug, info, warn, error, off"},
    {"debug", "--debug", "SWARMD_DEBUG", true, false, "CATEGORY",
     "Log these categories at debug level: net, gossip, boot, train, rl, merge, node, all "
     "(repeatable or comma-separated)"},
    {"log_format", "--log-format", "SWARMD_LOG_FORMAT", false, false, "FORMAT",
     "Log line format: text or json (one object per line)"},
}};

namespace {

constexpr std::size_t kMaxConfigFileSize = 64 * 1024;
constexpr std::size_t kMaxValueLength = 4096;

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
}

// HOST:PORT with HOST an IPv4 address, [IPv6] or a name; PORT 0..65535.
std::optional<std::string> check_http(std::string_view v) {
    if (v == "off") return std::nullopt;
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return "expected HOST:PORT (for example 127.0.0.1:7070) or \"off\"";
    std::string_view host = v.substr(0, colon);
    std::string_view port = v.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return "port " + detail::show(port) + " is not a number from 0 to 65535";
    bool bracketed = host.front() == '[' && host.back() == ']' && host.size() > 2;
    bool plain = std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-';
    });
    if (!bracketed && !plain) return "host " + detail::show(host) + " is not an address or name";
    return std::nullopt;
}

std::optional<FieldError> apply(NodeConfig& config, const ConfigSetting& s) {
    auto error = [&](std::string message) {
        return FieldError{s.where, std::move(message), s.line};
    };
    const ConfigOption& o = *s.option;
    if (!o.list && s.values.size() != 1) return error("expected one value");
    if (o.switch_only) {
        const auto& v = s.values[0];
        if (v == "true" || v == "1" || v == "yes") {
            if (o.key == "no_default_bootstrap") config.no_default_bootstrap = true;
        } else if (v == "false" || v == "0" || v == "no") {
            if (o.key == "no_default_bootstrap") config.no_default_bootstrap = false;
        } else {
            return error(detail::show(v) + " is not a switch value (allowed: true, false, 1, 0)");
        }
        return std::nullopt;
    }
    if (s.values.size() > NodeConfig::kMaxListEntries)
        return error("has " + std::to_string(s.values.size()) + " entries (allowed: at most " +
                     std::to_string(NodeConfig::kMaxListEntries) + ")");
    for (const auto& v : s.values) {
        if (v.size() > kMaxValueLength || has_control(v))
            return error(detail::show(v) + " is longer than " + std::to_string(kMaxValueLength) +
                         " bytes or contains a control character");
    }
    auto path = [&]() -> FieldResult<std::filesystem::path> {
        if (s.values[0].empty()) return FieldError{s.where, "must not be empty", s.line};
        std::filesystem::path p(s.values[0]);
        return p.is_relative() && !s.base_dir.empty() ? s.base_dir / p : p;
    };
    auto multiaddrs = [&]() -> std::optional<FieldError> {
        for (const auto& v : s.values) {
            auto addr = net::Multiaddr::parse(v);
            if (!addr)
                return error(detail::show(v) + " is not a multiaddr (" + addr.error().message() +
                             "; like /ip4/1.2.3.4/tcp/4001)");
        }
        return std::nullopt;
    };

    if (o.key == "data_dir" || o.key == "key_file" || o.key == "psk_file" || o.key == "spec") {
        auto p = path();
        if (!p) return p.error();
        if (o.key == "data_dir") config.data_dir = p.value();
        if (o.key == "key_file") config.key_file = p.value();
        if (o.key == "psk_file") config.psk_file = p.value();
        if (o.key == "spec") config.spec_file = p.value();
    } else if (o.key == "allow_peers") {
        for (const auto& v : s.values) {
            auto peer = crypto::PeerId::parse(v);
            if (!peer)
                return error(detail::show(v) + " is not a peer id (" + peer.error().message() +
                             "; like 12D3KooW...)");
            // Only Ed25519 ids (the key inlined) and RSA ids (a SHA-256 multihash) can prove
            // themselves to this node; a short identity multihash that holds no key (a typo
            // such as "12D3KooWnope" decodes to one) would match nobody.
            if (!peer.value().hashes_key() && !peer.value().public_key())
                return error(detail::show(v) +
                             " names no key a peer can prove (an Ed25519 id is 52 characters, "
                             "like 12D3KooW...; RSA ids start with Qm)");
        }
        config.allow_peers = s.values;
    } else if (o.key == "listen") {
        if (auto e = multiaddrs()) return e;
        config.listen = s.values;
    } else if (o.key == "bootstrap") {
        if (auto e = multiaddrs()) return e;
        config.bootstrap = s.values;
    } else if (o.key == "treat_as_public") {
        for (const auto& v : s.values) {
            if (!net::Cidr::parse(v))
                return error(detail::show(v) + " is not an address range (like 198.18.0.0/15)");
        }
        config.treat_as_public = s.values;
    } else if (o.key == "relay_limit") {
        RelayLimits limits;
        for (const auto& v : s.values) {
            if (auto problem = apply_relay_limit(limits, v)) return error(*problem);
        }
        config.relay = limits;
    } else if (o.key == "http") {
        if (auto problem = check_http(s.values[0])) return error(*problem);
        config.http = s.values[0];
    } else if (o.key == "log_level") {
        auto level = parse_log_level(s.values[0]);
        if (!level) return error(level.error().message);
        config.log.level = level.value();
    } else if (o.key == "log_format") {
        auto format = parse_log_format(s.values[0]);
        if (!format) return error(format.error().message);
        config.log.format = format.value();
    } else if (o.key == "debug") {
        std::vector<std::string> categories;
        for (const auto& v : s.values) {
            auto category = parse_debug_category(v);
            if (!category) return error(category.error().message);
            if (std::find(categories.begin(), categories.end(), v) == categories.end())
                categories.push_back(v);
        }
        config.log.debug = std::move(categories);
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> apply_relay_limit(RelayLimits& limits, std::string_view text) {
    static constexpr std::string_view kKeys =
        "reservations, reservations_per_ip, circuits, circuits_per_peer, circuit_seconds, "
        "circuit_bytes";
    const auto eq = text.find('=');
    const std::string_view key = text.substr(0, eq);
    std::optional<std::uint64_t>* field = nullptr;
    if (key == "reservations") field = &limits.reservations;
    if (key == "reservations_per_ip") field = &limits.reservations_per_ip;
    if (key == "circuits") field = &limits.circuits;
    if (key == "circuits_per_peer") field = &limits.circuits_per_peer;
    if (key == "circuit_seconds") field = &limits.circuit_seconds;
    if (key == "circuit_bytes") field = &limits.circuit_bytes;
    if (eq == std::string_view::npos || !field)
        return detail::show(text) + " is not KEY=N with KEY one of: " + std::string(kKeys);
    const std::string_view number = text.substr(eq + 1);
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    // A limit of 0 would refuse everything; the circuit's duration goes out as a 32-bit field.
    const std::uint64_t max = key == "circuit_seconds" ? 0xffffffffULL : (1ULL << 40);
    if (number.empty() || ec != std::errc{} || end != number.data() + number.size() || value == 0 ||
        value > max)
        return detail::show(text) + ": " + detail::show(number) +
               " is not a whole number from 1 to " + std::to_string(max);
    *field = value;
    return std::nullopt;
}

std::optional<std::string> process_env(std::string_view name) {
    const char* value = std::getenv(std::string(name).c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

std::filesystem::path default_data_dir(const GetEnv& env) {
    if (auto xdg = env("XDG_DATA_HOME"); xdg && !xdg->empty() && xdg->front() == '/')
        return std::filesystem::path(*xdg) / "swarmd";
    if (auto home = env("HOME"); home && !home->empty())
        return std::filesystem::path(*home) / ".local" / "share" / "swarmd";
    return "swarmd-data";
}

FieldResult<ConfigLayer> read_config_file(const std::filesystem::path& path) {
    std::string name = path.string();
    auto text = detail::read_small_file(path, kMaxConfigFileSize, "config file");
    if (!text) {
        FieldError e = text.error();
        e.key = name;
        return e;
    }
    auto doc = detail::parse_toml(text.value());
    if (!doc) {
        FieldError e = doc.error();
        e.key = name;
        return e;
    }
    std::optional<FieldError> error;
    detail::TableReader reader(&doc.value(), "", error);
    ConfigLayer layer;
    std::filesystem::path base = path.parent_path();
    for (const auto& o : kConfigOptions) {
        reader.allow(o.key);
        if (!reader.has(o.key)) continue;
        std::vector<std::string> values;
        if (o.switch_only) {
            values.push_back(reader.boolean(o.key, false) ? "true" : "false");
        } else if (o.list) {
            values = reader.texts(o.key, {}, 0, NodeConfig::kMaxListEntries, kMaxValueLength);
        } else {
            values.push_back(reader.text(o.key, "", kMaxValueLength));
        }
        int line = static_cast<int>(doc.value().get(o.key)->source().begin.line);
        layer.push_back(ConfigSetting{&o, std::move(values), name + ": " + std::string(o.key), line,
                                      base.empty() ? std::filesystem::path(".") : base});
    }
    reader.finish();
    if (error) {
        error->key = name + ": " + error->key;
        return std::move(*error);
    }
    return layer;
}

ConfigLayer read_config_env(const GetEnv& env) {
    ConfigLayer layer;
    for (const auto& o : kConfigOptions) {
        auto value = env(o.env);
        if (!value) continue;
        std::vector<std::string> values;
        if (o.list) {
            std::string_view rest = *value;
            while (!rest.empty()) {
                auto comma = rest.find(',');
                std::string item = trim(rest.substr(0, comma));
                if (!item.empty()) values.push_back(std::move(item));
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
        } else {
            values.push_back(*value);
        }
        layer.push_back(ConfigSetting{&o, std::move(values), std::string(o.env), 0, {}});
    }
    return layer;
}

FieldResult<NodeConfig> resolve_config(std::span<const ConfigLayer> layers, const GetEnv& env) {
    NodeConfig config;
    config.data_dir = default_data_dir(env);
    for (const auto& layer : layers) {
        for (const auto& setting : layer) {
            if (auto error = apply(config, setting)) return std::move(*error);
        }
    }
    if (config.key_file.empty()) config.key_file = config.data_dir / NodeConfig::kKeyFileName;
    return config;
}

std::string default_text(const ConfigOption& o, const GetEnv& env) {
    NodeConfig defaults;
    if (o.key == "data_dir") return default_data_dir(env).string();
    if (o.key == "listen") return NodeConfig::kDefaultListen;
    if (o.key == "bootstrap") return "none";
    if (o.key == "no_default_bootstrap") return "false";
    if (o.key == "treat_as_public") return "none";
    if (o.key == "relay_limit")
        return "go-libp2p's (128 reservations, 2 min and 128 KiB a circuit)";
    if (o.key == "http") return defaults.http;
    if (o.key == "key_file") return "<data-dir>/" + std::string(NodeConfig::kKeyFileName);
    if (o.key == "psk_file") return "none (the open network)";
    if (o.key == "allow_peers") return "any peer";
    if (o.key == "spec") return "embedded";
    if (o.key == "log_level") return std::string(log_level_name(defaults.log.level));
    if (o.key == "debug") return "none";
    if (o.key == "log_format") return std::string(to_string(defaults.log.format));
    return "";
}

FieldResult<std::shared_ptr<const crypto::Psk>> load_psk(const NodeConfig& config) {
    if (config.psk_file.empty()) return std::shared_ptr<const crypto::Psk>();
    auto psk = crypto::read_psk_file(config.psk_file);
    if (!psk)
        return FieldError{"psk_file", config.psk_file.string() + ": " + psk.error().message() +
                                          " (see docs/security.md, Private networks)"};
    return std::make_shared<const crypto::Psk>(psk.value());
}

std::shared_ptr<const std::unordered_set<crypto::PeerId>> allowed_peers(const NodeConfig& config) {
    if (config.allow_peers.empty()) return nullptr;
    std::unordered_set<crypto::PeerId> peers;
    for (const auto& text : config.allow_peers)
        peers.insert(crypto::PeerId::parse(text).value());  // resolve_config checked each one
    return std::make_shared<const std::unordered_set<crypto::PeerId>>(std::move(peers));
}

}  // namespace swarmd::node
