#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "node/ops/http_server.hpp"
#include "node/spec/config.hpp"

using namespace swarmd::node;
namespace fs = std::filesystem;

namespace {

struct FakeEnv {
    std::map<std::string, std::string> vars;
    GetEnv get() const {
        return [this](std::string_view name) -> std::optional<std::string> {
            auto it = vars.find(std::string(name));
            if (it == vars.end()) return std::nullopt;
            return it->second;
        };
    }
};

struct TempDir {
    fs::path path;
    TempDir() {
        path =
            fs::temp_directory_path() / ("swarmd-config-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

const ConfigOption* find_option(std::string_view key) {
    for (const auto& o : kConfigOptions) {
        if (o.key == key) return &o;
    }
    return nullptr;
}

ConfigLayer flags(std::vector<std::pair<std::string, std::vector<std::string>>> given) {
    ConfigLayer layer;
    for (auto& [key, values] : given) {
        const auto* o = find_option(key);
        REQUIRE(o);
        layer.push_back(ConfigSetting{o, values, std::string(o->flag), 0, {}});
    }
    return layer;
}

NodeConfig resolve_ok(const std::vector<ConfigLayer>& layers, const FakeEnv& env) {
    auto config = resolve_config(layers, env.get());
    if (!config) FAIL(config.error().to_string());
    return config.value();
}

}  // namespace

TEST_CASE("defaults: data dir from XDG or HOME, key file inside it", "[config]") {
    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    NodeConfig c = resolve_ok({}, env);
    CHECK(c.data_dir == "/home/ada/.local/share/swarmd");
    CHECK(c.key_file == "/home/ada/.local/share/swarmd/identity.key");
    CHECK(c.listen == std::vector<std::string>{NodeConfig::kDefaultListen});
    CHECK(c.bootstrap.empty());
    CHECK(c.http == "127.0.0.1:7070");
    CHECK(c.http == std::string(HttpOptions::kDefaultAddress) + ":" +
                        std::to_string(HttpOptions::kDefaultPort));
    CHECK(c.spec_file.empty());
    CHECK(c.log.level == spdlog::level::info);
    CHECK(c.log.format == LogFormat::text);
    env.vars["XDG_DATA_HOME"] = "/xdg";
    CHECK(resolve_ok({}, env).data_dir == "/xdg/swarmd");
    CHECK(default_data_dir(FakeEnv{}.get()) == "swarmd-data");
}

TEST_CASE("precedence: file < environment < flags", "[config]") {
    TempDir dir;
    auto file = dir.write("node.toml", R"(
data_dir = "/from/file"
http = "127.0.0.1:1000"
log_level = "warn"
log_format = "json"
listen = ["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"]
bootstrap = ["/ip4/10.0.0.1/tcp/4001"]
debug = ["net"]
)");
    auto file_layer = read_config_file(file);
    REQUIRE(file_layer);

    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    // File alone.
    NodeConfig c = resolve_ok({file_layer.value()}, env);
    CHECK(c.data_dir == "/from/file");
    CHECK(c.key_file == "/from/file/identity.key");
    CHECK(c.http == "127.0.0.1:1000");
    CHECK(c.log.level == spdlog::level::warn);
    CHECK(c.log.format == LogFormat::json);
    CHECK(c.listen.size() == 2);
    CHECK(c.log.debug == std::vector<std::string>{"net"});

    // Environment over file.
    env.vars["SWARMD_HTTP"] = "127.0.0.1:2000";
    env.vars["SWARMD_LOG_LEVEL"] = "debug";
    env.vars["SWARMD_LISTEN"] = " /ip4/0.0.0.0/tcp/9 ,, ";
    env.vars["SWARMD_DEBUG"] = "gossip,boot";
    auto env_layer = read_config_env(env.get());
    c = resolve_ok({file_layer.value(), env_layer}, env);
    CHECK(c.data_dir == "/from/file");  // not overridden
    CHECK(c.http == "127.0.0.1:2000");
    CHECK(c.log.level == spdlog::level::debug);
    CHECK(c.log.format == LogFormat::json);
    CHECK(c.listen == std::vector<std::string>{"/ip4/0.0.0.0/tcp/9"});  // a list replaces
    CHECK(c.log.debug == std::vector<std::string>{"gossip", "boot"});
    CHECK(c.bootstrap == std::vector<std::string>{"/ip4/10.0.0.1/tcp/4001"});

    // Flags over environment and file.
    auto flag_layer = flags({{"http", {"off"}},
                             {"data_dir", {"/from/flag"}},
                             {"bootstrap", {"/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.3/tcp/1"}}});
    c = resolve_ok({file_layer.value(), env_layer, flag_layer}, env);
    CHECK(c.http == "off");
    CHECK(c.data_dir == "/from/flag");
    CHECK(c.key_file == "/from/flag/identity.key");
    CHECK(c.log.level == spdlog::level::debug);  // from the environment
    CHECK(c.bootstrap.size() == 2);
}

TEST_CASE("relative paths in a config file are relative to the file", "[config]") {
    TempDir dir;
    auto file = dir.write("node.toml",
                          "data_dir = \"state\"\nkey_file = \"keys/id.key\"\n"
                          "spec = \"/abs/swarm.toml\"\n");
    auto layer = read_config_file(file);
    REQUIRE(layer);
    NodeConfig c = resolve_ok({layer.value()}, FakeEnv{});
    CHECK(c.data_dir == dir.path / "state");
    CHECK(c.key_file == dir.path / "keys/id.key");
    CHECK(c.spec_file == "/abs/swarm.toml");
    // From flags they stay as given (relative to the working directory).
    c = resolve_ok({flags({{"key_file", {"my.key"}}})}, FakeEnv{});
    CHECK(c.key_file == "my.key");
}

TEST_CASE("bad config values are one-line errors naming their source", "[config][errors]") {
    TempDir dir;
    auto check_file = [&](const std::string& text, const std::string& expect) {
        auto file = dir.write("bad.toml", text);
        auto layer = read_config_file(file);
        std::string line;
        if (!layer) {
            line = layer.error().to_string();
        } else {
            auto c = resolve_config(std::vector<ConfigLayer>{layer.value()}, FakeEnv{}.get());
            REQUIRE_FALSE(c);
            line = c.error().to_string();
        }
        INFO(text << " -> " << line);
        CHECK(line.rfind(file.string(), 0) == 0);
        CHECK(line.find(expect) != std::string::npos);
        CHECK(line.find('\n') == std::string::npos);
    };
    check_file("log_levle = \"info\"\n", "log_levle (line 1): unknown key");
    check_file("log_level = \"loud\"\n", "log_level (line 1): \"loud\" is not a log level");
    check_file("\n\nlog_format = \"xml\"\n", "log_format (line 3)");
    check_file("http = 8080\n", "http (line 1): expected a string, got an integer");
    check_file("http = \"localhost\"\n", "expected HOST:PORT");
    check_file("http = \"127.0.0.1:99999\"\n", "not a number from 0 to 65535");
    check_file("listen = \"/ip4/1.2.3.4/tcp/1\"\n", "expected an array of strings");
    check_file("listen = [\"1.2.3.4:4001\"]\n", "is not a multiaddr");
    check_file("bootstrap = [\"/ip4/1.2.3.999/tcp/1\"]\n", "is not a multiaddr");
    check_file("bootstrap = [\"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWnotapeerid\"]\n",
               "is not a multiaddr");
    check_file("debug = [\"network\"]\n", "is not a log category");
    check_file("data_dir = \"\"\n", "must not be empty");
    check_file("[log]\nlevel = \"info\"\n", "unknown key");
    check_file("data_dir = \n", "malformed TOML");

    auto missing = read_config_file(dir.path / "none.toml");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().to_string().find("cannot read config file") != std::string::npos);

    FakeEnv env;
    env.vars["SWARMD_LOG_FORMAT"] = "xml";
    auto c = resolve_config(std::vector<ConfigLayer>{read_config_env(env.get())}, env.get());
    REQUIRE_FALSE(c);
    CHECK(c.error().to_string().rfind("SWARMD_LOG_FORMAT: \"xml\" is not a log format", 0) == 0);

    c = resolve_config(std::vector<ConfigLayer>{flags({{"http", {"[::1:80"}}})}, env.get());
    REQUIRE_FALSE(c);
    CHECK(c.error().to_string().rfind("--http: ", 0) == 0);
}

TEST_CASE("every config option is documented in docs/config.md", "[config][docs]") {
    std::ifstream in(SWARMD_SOURCE_DIR "/docs/config.md");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string doc = ss.str();
    REQUIRE_FALSE(doc.empty());
    for (const auto& o : kConfigOptions) {
        INFO(o.key);
        CHECK(doc.find("`" + std::string(o.key) + "`") != std::string::npos);
        CHECK(doc.find("`" + std::string(o.flag)) != std::string::npos);
        CHECK(doc.find("`" + std::string(o.env) + "`") != std::string::npos);
    }
    CHECK(doc.find("`" + std::string(kConfigEnv) + "`") != std::string::npos);
}

TEST_CASE("no_default_bootstrap: a TOML boolean, a flag without a value, 1/0 in the environment",
          "[config]") {
    TempDir dir;
    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    CHECK_FALSE(resolve_ok({}, env).no_default_bootstrap);

    auto on = read_config_file(dir.write("on.toml", "no_default_bootstrap = true\n"));
    REQUIRE(on);
    CHECK(resolve_ok({on.value()}, env).no_default_bootstrap);
    // A later source turns it off again.
    env.vars["SWARMD_NO_DEFAULT_BOOTSTRAP"] = "0";
    CHECK_FALSE(resolve_ok({on.value(), read_config_env(env.get())}, env).no_default_bootstrap);
    env.vars["SWARMD_NO_DEFAULT_BOOTSTRAP"] = "1";
    CHECK(resolve_ok({read_config_env(env.get())}, env).no_default_bootstrap);
    env.vars.erase("SWARMD_NO_DEFAULT_BOOTSTRAP");
    CHECK(resolve_ok({flags({{"no_default_bootstrap", {"true"}}})}, env).no_default_bootstrap);

    auto text = read_config_file(dir.write("text.toml", "no_default_bootstrap = \"yes\"\n"));
    REQUIRE_FALSE(text);
    CHECK(text.error().to_string().find("no_default_bootstrap") != std::string::npos);
    CHECK(text.error().to_string().find("expected true or false") != std::string::npos);

    env.vars["SWARMD_NO_DEFAULT_BOOTSTRAP"] = "maybe";
    auto bad = resolve_config(std::vector<ConfigLayer>{read_config_env(env.get())}, env.get());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().to_string().rfind("SWARMD_NO_DEFAULT_BOOTSTRAP: \"maybe\" is not a switch",
                                        0) == 0);
}

TEST_CASE("treat_as_public takes address ranges and refuses anything else", "[config]") {
    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    env.vars["SWARMD_TREAT_AS_PUBLIC"] = "198.18.0.0/15, 10.1.2.3";
    auto c = resolve_ok({read_config_env(env.get())}, env);
    CHECK(c.treat_as_public == std::vector<std::string>{"198.18.0.0/15", "10.1.2.3"});
    env.vars["SWARMD_TREAT_AS_PUBLIC"] = "198.18.0.0/99";
    auto bad = resolve_config(std::vector<ConfigLayer>{read_config_env(env.get())}, env.get());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().to_string().find("is not an address range") != std::string::npos);
}

TEST_CASE("relay_limit sets the served relay's limits and refuses unknown keys and bad numbers",
          "[config]") {
    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    env.vars["SWARMD_RELAY_LIMIT"] = "circuit_bytes=1048576, circuit_seconds=600,reservations=32";
    auto c = resolve_ok({read_config_env(env.get())}, env);
    CHECK(c.relay.circuit_bytes == 1048576u);
    CHECK(c.relay.circuit_seconds == 600u);
    CHECK(c.relay.reservations == 32u);
    CHECK_FALSE(c.relay.circuits);
    CHECK_FALSE(c.relay.reservations_per_ip);
    for (const char* bad : {"circuit_bytes", "bandwidth=5", "circuits=0", "circuits=-1",
                            "circuit_seconds=99999999999", "circuits=12x"}) {
        env.vars["SWARMD_RELAY_LIMIT"] = bad;
        auto refused =
            resolve_config(std::vector<ConfigLayer>{read_config_env(env.get())}, env.get());
        REQUIRE_FALSE(refused);
        CHECK(refused.error().to_string().rfind("SWARMD_RELAY_LIMIT: ", 0) == 0);
    }
    RelayLimits limits;
    CHECK(apply_relay_limit(limits, "bandwidth=5")->find("circuits_per_peer") != std::string::npos);
}

namespace {

// Two real peer ids (Ed25519 identity multihashes), as `swarmd id` prints them.
const std::string kPeerA = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const std::string kPeerB = "12D3KooWJWEKvSFbben74C2d7jM2E5sGzK3fCZxzpGaqXKvEANt8";

}  // namespace

TEST_CASE("psk_file and allow_peers come from the file, the environment and flags",
          "[config][pnet]") {
    TempDir dir;
    FakeEnv env;
    env.vars["HOME"] = "/home/ada";
    auto defaults = resolve_ok({}, env);
    CHECK(defaults.psk_file.empty());
    CHECK(defaults.allow_peers.empty());
    CHECK(allowed_peers(defaults) == nullptr);

    auto file = read_config_file(
        dir.write("node.toml", "psk_file = \"swarm.key\"\nallow_peers = [\"" + kPeerA + "\"]\n"));
    REQUIRE(file);
    auto c = resolve_ok({file.value()}, env);
    CHECK(c.psk_file == dir.path / "swarm.key");  // relative to the config file
    CHECK(c.allow_peers == std::vector<std::string>{kPeerA});

    env.vars["SWARMD_PSK_FILE"] = "/etc/swarmd/swarm.key";
    env.vars["SWARMD_ALLOW_PEERS"] = kPeerA + ", " + kPeerB;
    c = resolve_ok({file.value(), read_config_env(env.get())}, env);
    CHECK(c.psk_file == "/etc/swarmd/swarm.key");
    CHECK(c.allow_peers == std::vector<std::string>{kPeerA, kPeerB});
    auto peers = allowed_peers(c);
    REQUIRE(peers);
    CHECK(peers->size() == 2);
    CHECK(peers->contains(swarmd::crypto::PeerId::parse(kPeerB).value()));

    c = resolve_ok({file.value(), read_config_env(env.get()),
                    flags({{"psk_file", {"other.key"}}, {"allow_peers", {kPeerB}}})},
                   env);
    CHECK(c.psk_file == "other.key");
    CHECK(c.allow_peers == std::vector<std::string>{kPeerB});
}

TEST_CASE("allow_peers entries must be peer ids", "[config][errors]") {
    FakeEnv env;
    env.vars["SWARMD_ALLOW_PEERS"] = kPeerA + ",12D3KooWnotapeerid";
    auto c = resolve_config(std::vector<ConfigLayer>{read_config_env(env.get())}, env.get());
    REQUIRE_FALSE(c);
    const std::string line = c.error().to_string();
    INFO(line);
    CHECK(line.rfind("SWARMD_ALLOW_PEERS: \"12D3KooWnotapeerid\" is not a peer id (", 0) == 0);
    CHECK(line.find('\n') == std::string::npos);

    c = resolve_config(std::vector<ConfigLayer>{flags({{"allow_peers", {"/ip4/1.2.3.4/tcp/1"}}})},
                       env.get());
    REQUIRE_FALSE(c);
    CHECK(c.error().to_string().rfind("--allow-peer: \"/ip4/1.2.3.4/tcp/1\" is not a peer id", 0) ==
          0);

    // A typo that still decodes to a short identity multihash holds no key: it could match no
    // peer, so it is refused rather than taken.
    REQUIRE(swarmd::crypto::PeerId::parse("12D3KooWnope"));
    c = resolve_config(std::vector<ConfigLayer>{flags({{"allow_peers", {"12D3KooWnope"}}})},
                       env.get());
    REQUIRE_FALSE(c);
    CHECK(c.error().to_string().rfind(
              "--allow-peer: \"12D3KooWnope\" names no key a peer can prove", 0) == 0);
    // An RSA id (the SHA-256 multihash form the public bootstrap peers have) is taken.
    c = resolve_config(std::vector<ConfigLayer>{flags(
                           {{"allow_peers", {"QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"}}})},
                       env.get());
    CHECK(c);
}

TEST_CASE("a psk_file that cannot be used is a one-line error naming the file",
          "[config][errors][pnet]") {
    TempDir dir;
    NodeConfig config;
    CHECK(load_psk(config).value() == nullptr);  // no psk_file: the open network

    auto error_of = [&](const fs::path& path) {
        config.psk_file = path;
        auto psk = load_psk(config);
        REQUIRE_FALSE(psk);
        const std::string line = psk.error().to_string();
        INFO(line);
        CHECK(line.rfind("psk_file: " + path.string() + ": ", 0) == 0);
        CHECK(line.find('\n') == std::string::npos);
        return line;
    };
    CHECK(error_of(dir.path / "missing.key").find("No such file or directory") !=
          std::string::npos);

    const std::string key =
        "/key/swarm/psk/1.0.0/\n/base16/\n"
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    auto open = dir.write("open.key", key);
    fs::permissions(open, fs::perms(0644));
    CHECK(error_of(open).find("readable by others") != std::string::npos);

    auto garbled = dir.write("garbled.key", "/key/swarm/psk/1.0.0/\n/base16/\nzz\n");
    fs::permissions(garbled, fs::perms(0600));
    error_of(garbled);

    auto good = dir.write("swarm.key", key);
    fs::permissions(good, fs::perms(0600));
    config.psk_file = good;
    auto psk = load_psk(config);
    REQUIRE(psk);
    REQUIRE(psk.value());
    CHECK(psk.value()->key()[31] == 0x1f);
    // The key never appears in the error text of a key that is fine but exposed.
    fs::permissions(good, fs::perms(0640));
    CHECK(error_of(good).find("1c1d1e1f") == std::string::npos);
}
