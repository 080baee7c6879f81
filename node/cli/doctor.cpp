// swarmd doctor [MADDR...]: checks bootstrap entries the way joining does and says what is wrong.
#include <CLI/CLI.hpp>

#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "base/log.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/doctor.hpp"
#include "bootstrap/peer_list.hpp"
#include "net/autonat_service.hpp"
#include "net/host.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"
#include "node/cli/cli.hpp"
#include "node/cli/doctor.hpp"
#include "node/daemon.hpp"
#include "node/ops/http_server.hpp"
#include "node/spec/spec.hpp"

namespace swarmd::node {

std::vector<std::string> running_node_report(const nlohmann::json& status) {
    std::vector<std::string> out;
    if (!status.is_object()) return out;
    try {
        const auto reach = status.value("reach", nlohmann::json::object());
        const auto punch = reach.value("hole_punch", nlohmann::json::object());
        const std::string reachability = reach.value("reachability", "unknown");
        const bool behind_nat = reach.value("behind_nat", false);
        std::string line = "the node running here (" + status.value("peer_id", std::string("?")) +
                           "): reachability " + reachability;
        if (behind_nat) line += ", behind NAT";
        out.push_back(line);
        std::vector<std::string> relays;
        for (const auto& addr : reach.value("relay_addrs", nlohmann::json::array())) {
            if (!addr.is_string()) continue;
            // /ip4/R/tcp/P/p2p/RELAY/p2p-circuit: name the relay by its peer id.
            auto circuit = net::Multiaddr::parse(addr.get<std::string>());
            if (!circuit || circuit.value().components().empty() ||
                circuit.value().components().back().protocol != net::Protocol::p2p_circuit)
                continue;
            const auto relay =
                circuit.value().prefix(circuit.value().components().size() - 1).peer_id();
            if (relay) relays.push_back(relay->to_base58());
        }
        if (!relays.empty()) {
            std::string via;
            for (const auto& r : relays) via += (via.empty() ? "" : ", ") + r;
            out.push_back("  relayed via " + via + " (nodes behind NAT reach it through these)");
        } else if (behind_nat) {
            out.push_back("  no relay reservation yet: only nodes it dials itself can reach it");
        }
        std::size_t direct = 0, relayed = 0;
        for (const auto& link : status.value("links", nlohmann::json::array())) {
            if (!link.is_object()) continue;
            (link.value("relayed", false) ? relayed : direct) += 1;
        }
        const auto punched = punch.value("direct_upgrades", 0ULL);
        const auto dialed = punch.value("unilateral_upgrades", 0ULL);
        std::string links = "  connections: " + std::to_string(direct) + " direct";
        if (punched + dialed > 0)
            links += " (" + std::to_string(punched) + " made direct by hole punch, " +
                     std::to_string(dialed) + " by dialing a relayed peer's public address)";
        links += ", " + std::to_string(relayed) + " relayed";
        out.push_back(links);
        std::uint64_t failed = 0;
        const auto failures = punch.value("failed", nlohmann::json::object());
        for (const auto& [reason, n] : failures.items())
            if (n.is_number_integer() && n.get<std::int64_t>() > 0)
                failed += static_cast<std::uint64_t>(n.get<std::int64_t>());
        if (failed > 0)
            out.push_back(
                "  " + std::to_string(failed) +
                " hole punches failed (a symmetric NAT on either side defeats them): those "
                "links stay relayed; forwarding the TCP port avoids relays altogether");
    } catch (const nlohmann::json::exception&) {
        // A field of another type: what was said so far stands.
    }
    return out;
}

void add_doctor_command(CLI::App& app, CliContext& ctx) {
    auto targets = std::make_shared<std::vector<std::string>>();
    auto* doctor = app.add_subcommand(
        "doctor",
        "Check bootstrap peers (the given ones, else the node's list): address, DNS, TCP, libp2p "
        "handshake, peer id, swarm id, ping. Exits non-zero when none is reachable");
    doctor->add_option("MADDR", *targets, "Bootstrap multiaddrs or /dnsaddr/ names to check");
    ctx.on_run(doctor, [&ctx, targets] {
        const auto& config = ctx.config();
        auto spec = config.spec_file.empty() ? FieldResult<Spec>(default_spec())
                                             : load_spec_file(config.spec_file);
        if (!spec) return cli_error(spec.error().to_string());
        std::vector<std::string> list =
            targets->empty()
                ? bootstrap::effective_peer_list({config.bootstrap, config.no_default_bootstrap})
                : *targets;
        if (list.empty()) {
            std::cout << "no bootstrap peers configured: give MADDR arguments or --bootstrap\n";
            return 1;
        }
        // Each entry gets one diagnosis line below; the connection warnings would say it twice,
        // in words meant for operators. --debug=net,boot still shows them.
        for (const char* category : {"net", "boot"}) {
            auto log = category_log(category);
            if (log->level() > spdlog::level::debug) log->set_level(spdlog::level::err);
        }
        const auto id = SwarmId::of(spec.value());
        boost::asio::io_context io;
        // A throwaway identity: checking peers should not need the node's key. The private
        // network key and the allowlist do apply: they decide what the node can reach.
        net::HostOptions host_options;
        apply_network_config(config, host_options.connection);
        net::Host host(io.get_executor(), crypto::PrivateKey::generate(), host_options);
        // AutoNAT peers dial back where the node would listen; when a running node holds the
        // port, any free port still says whether this machine can be dialed at all.
        std::string listen_note;
        for (const auto& text : config.listen) {
            auto addr = net::Multiaddr::parse(text);
            if (!addr) continue;
            if (host.listen(addr.value())) continue;
            auto endpoint = addr.value().tcp_endpoint();
            if (!endpoint) continue;
            auto any_port = net::Multiaddr::parse(
                std::string(endpoint->host.find(':') == std::string::npos ? "/ip4/" : "/ip6/") +
                endpoint->host + "/tcp/0");
            if (any_port && host.listen(any_port.value()))
                listen_note = text + " is in use (a running node?): tested another port instead";
        }
        const auto listened = host.listen_addrs();
        net::AutoNatServiceOptions autonat_options;
        for (const auto& text : config.treat_as_public)
            if (auto cidr = net::Cidr::parse(text))
                autonat_options.treat_as_public.push_back(*cidr);
        auto autonat =
            std::make_shared<net::AutoNatService>(io.get_executor(), host, autonat_options);
        bootstrap::DnsaddrResolver resolver(io, {});
        bootstrap::Hello hello{id.bytes(), bootstrap::Role::trainer, bootstrap::HelloStatus::ok};
        std::vector<bootstrap::DoctorResult> results;
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                results = co_await bootstrap::run_doctor(
                    host, resolver, list, hello, listened.empty() ? nullptr : autonat.get());
                autonat->stop();
                host.stop();
            },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        io.run();
        std::size_t reachable = 0;
        for (const auto& r : results) {
            std::cout << bootstrap::format_doctor_line(r) << "\n";
            if (!r.error) ++reachable;
        }
        std::cout << reachable << " of " << results.size() << " bootstrap peers reachable (swarm "
                  << id.short_hex() << ")\n";
        if (!listen_note.empty()) std::cout << listen_note << "\n";
        for (const auto& line : bootstrap::reachability_report(results, listened))
            std::cout << line << "\n";
        // A node running here knows more: its relays and whether its links went direct.
        if (config.http != "off") {
            try {
                auto token = read_http_token(config.data_dir / kHttpTokenFileName);
                const auto status = nlohmann::json::parse(
                    http_get(config.http, "/api/status", token ? token.value() : std::string()),
                    nullptr, false);
                for (const auto& line : running_node_report(status)) std::cout << line << "\n";
            } catch (const std::exception&) {
                // No node running here (or not on this --http): nothing more to say.
            }
        }
        return reachable > 0 ? 0 : 1;
    });
}

}  // namespace swarmd::node
