#include "node/cli.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/cli_p2p.hpp"

namespace swarmd::node {
namespace {

constexpr const char* kDefaultKeyFile = "swarmd.key";

int fail(const std::string& what) {
    std::cerr << "swarmd: " << what << "\n";
    return 1;
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"swarmd: a peer-to-peer daemon for decentralized training"};
    app.set_version_flag("--version", "swarmd 0.1.0");
    app.require_subcommand(1);

    std::string keygen_out = kDefaultKeyFile;
    bool keygen_force = false;
    auto* keygen = app.add_subcommand("keygen", "Create an Ed25519 identity key file (mode 0600)");
    keygen->add_option("--out", keygen_out, "Key file to write")->capture_default_str();
    keygen->add_flag("--force", keygen_force, "Overwrite an existing key file");

    std::string id_key = kDefaultKeyFile;
    auto* id = app.add_subcommand("id", "Print the peer id of a key file");
    id->add_option("--key", id_key, "Key file to read")->capture_default_str();

    add_p2p_commands(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    if (*keygen) {
        auto key = crypto::PrivateKey::generate();
        auto written = crypto::write_key_file(keygen_out, key, keygen_force);
        if (!written) return fail(keygen_out + ": " + written.error().message());
        std::cout << crypto::PeerId::from_public_key(key.public_key()).to_base58() << "\n";
        return 0;
    }
    if (*id) {
        auto key = crypto::read_key_file(id_key);
        if (!key) return fail(id_key + ": " + key.error().message());
        std::cout << crypto::PeerId::from_public_key(key.value().public_key()).to_base58() << "\n";
        return 0;
    }
    return 0;
}

}  // namespace swarmd::node
