// swarmd spec show, swarmd spec check: the swarm spec and its id.
#include <CLI/CLI.hpp>

#include <iostream>

#include "node/cli/cli.hpp"
#include "node/spec/spec.hpp"

namespace swarmd::node {
namespace {

FieldResult<Spec> load(const std::filesystem::path& path) {
    if (path.empty()) return default_spec();
    auto spec = load_spec_file(path);
    if (!spec) {
        FieldError e = spec.error();
        e.key = e.key.empty() ? path.string() : path.string() + ": " + e.key;
        return e;
    }
    return spec;
}

}  // namespace

void add_spec_commands(CLI::App& app, CliContext& ctx) {
    struct Args {
        bool id_only = false;
        bool canonical = false;
        std::string file;
    };
    auto args = std::make_shared<Args>();

    auto* spec = app.add_subcommand("spec", "Show or check a swarm spec");
    spec->require_subcommand(1);

    auto* show = spec->add_subcommand(
        "show",
        "Print a spec in canonical form with its swarm id: the --spec file, else the spec "
        "compiled into swarmd");
    auto* id_only = show->add_flag("--id", args->id_only, "Print only the swarm id");
    show->add_flag("--canonical", args->canonical,
                   "Print only the canonical text (its SHA-256 is the swarm id)")
        ->excludes(id_only);
    ctx.on_run(show, [&ctx, args] {
        auto spec = load(ctx.config().spec_file);
        if (!spec) return cli_error(spec.error().to_string());
        SwarmId id = SwarmId::of(spec.value());
        if (args->id_only) {
            std::cout << id.hex() << "\n";
        } else if (args->canonical) {
            std::cout << canonical_text(spec.value());
        } else {
            std::cout
                << "# swarm id " << id.hex() << "\n"
                << "# (the SHA-256 of the canonical text below; swarmd spec show --canonical)\n"
                << canonical_text(spec.value());
        }
        return 0;
    });

    auto* check = spec->add_subcommand(
        "check", "Validate a spec file; print its swarm id, or one line naming the bad key");
    check->add_option("FILE", args->file, "Spec file to check")->required();
    ctx.on_run(check, [args] {
        if (args->file.empty()) return cli_error("spec check: the file name is empty");
        auto spec = load(args->file);
        if (!spec) return cli_error(spec.error().to_string());
        std::cout << args->file << ": ok, swarm id " << SwarmId::of(spec.value()).hex() << " ("
                  << spec.value().name << ", mode " << to_string(spec.value().mode) << ")\n";
        return 0;
    });
}

}  // namespace swarmd::node
