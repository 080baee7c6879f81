// swarmd keygen, swarmd id: the node's Ed25519 identity.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/cli/cli.hpp"

namespace swarmd::node {

void add_keys_commands(CLI::App& app, CliContext& ctx) {
    struct Args {
        std::string out;
        bool force = false;
        std::string key;
    };
    auto args = std::make_shared<Args>();

    auto* keygen = app.add_subcommand(
        "keygen", "Create an Ed25519 identity key file (mode 0600) and print its peer id");
    keygen->add_option("--out", args->out, "Key file to write")
        ->type_name("FILE")
        ->default_str("the node's --key-file");
    keygen->add_flag("--force", args->force, "Overwrite an existing key file");
    ctx.on_run(keygen, [&ctx, args] {
        std::filesystem::path out =
            args->out.empty() ? ctx.config().key_file : std::filesystem::path(args->out);
        if (out.has_parent_path()) {
            // A data directory swarmd creates holds a private key: owner access only.
            std::error_code ec;
            if (std::filesystem::create_directories(out.parent_path(), ec))
                std::filesystem::permissions(out.parent_path(), std::filesystem::perms::owner_all,
                                             ec);
            if (ec) return cli_error(out.parent_path().string() + ": " + ec.message());
        }
        auto key = crypto::PrivateKey::generate();
        auto written = crypto::write_key_file(out, key, args->force);
        if (!written) return cli_error(out.string() + ": " + written.error().message());
        std::cout << crypto::PeerId::from_public_key(key.public_key()).to_base58() << "\n";
        return 0;
    });

    auto* id = app.add_subcommand("id", "Print the peer id of a key file");
    id->add_option("--key", args->key, "Key file to read")
        ->type_name("FILE")
        ->default_str("the node's --key-file");
    ctx.on_run(id, [&ctx, args] {
        std::filesystem::path path =
            args->key.empty() ? ctx.config().key_file : std::filesystem::path(args->key);
        auto key = crypto::read_key_file(path);
        if (!key) return cli_error(path.string() + ": " + key.error().message());
        std::cout << crypto::PeerId::from_public_key(key.value().public_key()).to_base58() << "\n";
        return 0;
    });
}

}  // namespace swarmd::node
