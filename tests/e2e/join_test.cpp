// Joining as real processes on loopback: nodes that know only one bootstrap peer grow their
// connections through peer exchange and stay joined without it; a restarted node rejoins from its
// peer store when every bootstrap peer is down. Connectivity is read from the nodes' own
// /api/status peer lists, polled against a deadline.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>

#include "tests/e2e/swarm_processes.hpp"

namespace swarmd::e2e {
namespace {

// The daemon's joiner defaults (bootstrap/joiner.hpp JoinOptions), which `swarmd run` keeps.
constexpr std::size_t kTargetPeers = 8;
constexpr std::size_t kLowWatermark = 4;

const std::string kSwarmd = SWARMD_BINARY;

// The default spec, made cheap for many processes on a small machine: a tiny model and batch.
// With a minute per round the nodes spend their CPU on joining, not training.
std::vector<std::string> tiny_spec_args(const fs::path& dir) {
    std::string spec = run_and_read({kSwarmd, "spec", "show", "--canonical"});
    spec = std::regex_replace(spec, std::regex(R"(hidden = \[[0-9, ]*\])"), "hidden = [4]");
    spec = std::regex_replace(spec, std::regex(R"(batch = [0-9]+)"), "batch = 8");
    const auto path = dir / "spec.toml";
    std::ofstream(path) << spec << "\n";
    return {"--spec", path.string()};
}
const std::vector<std::string> kRunArgs = {"--round-interval-ms", "60000"};

bool answers(SwarmdProcess& node) { return node.status().has_value(); }

std::map<std::string, std::set<std::string>> peer_lists(
    const std::vector<std::unique_ptr<SwarmdProcess>>& nodes) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& n : nodes) out[n->peer_id()] = n->peers();
    return out;
}

std::string describe(const std::vector<std::unique_ptr<SwarmdProcess>>& nodes) {
    std::ostringstream out;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        out << "node" << i + 1 << " " << nodes[i]->peer_id() << ": " << nodes[i]->peers().size()
            << " peers\n";
    }
    return out.str();
}

}  // namespace

TEST_CASE("12 nodes given one bootstrap peer reach the target degree and stay joined without it",
          "[join][twelve]") {
    ScratchDir scratch;
    const auto spec = tiny_spec_args(scratch.path());
    SwarmdProcess boot(kSwarmd, scratch.path() / "boot", spec);
    boot.start({"--bootstrap-node"});
    REQUIRE(poll_until(std::chrono::seconds(15), [&] { return answers(boot); }));

    constexpr std::size_t kNodes = 12;
    std::vector<std::unique_ptr<SwarmdProcess>> nodes;
    for (std::size_t i = 0; i < kNodes; ++i) {
        nodes.push_back(std::make_unique<SwarmdProcess>(
            kSwarmd, scratch.path() / ("node" + std::to_string(i + 1)), spec));
        auto args = kRunArgs;
        args.insert(args.end(), {"--bootstrap", boot.p2p_addr()});
        nodes.back()->start(args);
    }

    // Thirteen processes loading LibTorch at once take a while on a busy 2-core machine: the
    // joining deadline starts once every node answers.
    REQUIRE(poll_until(std::chrono::seconds(60), [&] {
        return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return answers(*n); });
    }));
    const auto answered = Clock::now();
    std::vector<long> reached_ms(nodes.size(), -1);
    const bool reached = poll_until(std::chrono::seconds(30), [&] {
        bool all = true;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (reached_ms[i] >= 0) continue;
            if (nodes[i]->peers().size() < kTargetPeers) {
                all = false;
                continue;
            }
            reached_ms[i] =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - answered)
                    .count();
        }
        return all;
    });
    INFO(describe(nodes));
    INFO("node1's log:\n" << nodes[0]->log_tail());
    REQUIRE(reached);
    std::ostringstream timing;
    for (std::size_t i = 0; i < nodes.size(); ++i) timing << " " << reached_ms[i];
    WARN("ms after all nodes answered until each had " << kTargetPeers
                                                       << " peers:" << timing.str());

    boot.kill(SIGKILL);
    // Every node notices the loss (its peer list drops the bootstrap node), then keeps at least
    // the low watermark and the swarm stays one component, over several joiner ticks.
    const bool noticed = poll_until(std::chrono::seconds(15), [&] {
        for (const auto& [node, peers] : peer_lists(nodes)) {
            if (peers.contains(boot.peer_id())) return false;
        }
        return true;
    });
    INFO(describe(nodes));
    REQUIRE(noticed);
    const auto watch_until = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < watch_until) {
        const auto lists = peer_lists(nodes);
        for (const auto& [node, peers] : lists) {
            INFO("node " << node);
            REQUIRE(peers.size() >= kLowWatermark);
        }
        REQUIRE(components(lists) == 1);
        for (auto& n : nodes) REQUIRE(n->running());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

TEST_CASE("a restarted node rejoins from its peer store when every bootstrap peer is down",
          "[join][restart]") {
    ScratchDir scratch;
    const auto spec = tiny_spec_args(scratch.path());
    SwarmdProcess boot(kSwarmd, scratch.path() / "boot", spec);
    boot.start({"--bootstrap-node"});
    REQUIRE(poll_until(std::chrono::seconds(15), [&] { return answers(boot); }));

    auto args = kRunArgs;
    args.insert(args.end(), {"--bootstrap", boot.p2p_addr()});
    std::vector<std::unique_ptr<SwarmdProcess>> others;
    for (int i = 0; i < 3; ++i) {
        others.push_back(std::make_unique<SwarmdProcess>(
            kSwarmd, scratch.path() / ("node" + std::to_string(i + 1)), spec));
        others.back()->start(args);
    }
    SwarmdProcess node(kSwarmd, scratch.path() / "restarted", spec);
    node.start(args);

    // Joined: connected to every other node, learned through the bootstrap node.
    auto joined_others = [&] {
        const auto peers = node.peers();
        for (const auto& o : others) {
            if (!peers.contains(o->peer_id())) return false;
        }
        return true;
    };
    {
        const bool joined = poll_until(std::chrono::seconds(30), joined_others);
        INFO(node.log_tail());
        REQUIRE(joined);
    }

    node.kill(SIGTERM);
    boot.kill(SIGKILL);
    // The peer store in the data directory names the other nodes.
    {
        std::ifstream in(node.dir() / "peers.json");
        const auto store = json::parse(in, nullptr, false);
        REQUIRE(store.is_object());
        const auto text = store.dump();
        for (const auto& o : others) CHECK(text.find(o->peer_id()) != std::string::npos);
    }
    // Wait until the others have dropped it, so any connection after the restart is new.
    REQUIRE(poll_until(std::chrono::seconds(10), [&] {
        for (const auto& o : others) {
            if (o->peers().contains(node.peer_id())) return false;
        }
        return true;
    }));

    // On a new port, so the others' stored addresses for it are dead: every connection after the
    // restart is one it dialed from its own peer store. Its only bootstrap peer is down.
    node.move_to_new_port();
    node.start(args);
    const bool rejoined = poll_until(std::chrono::seconds(30), joined_others);
    INFO(node.log_tail());
    REQUIRE(rejoined);
    CHECK_FALSE(node.peers().contains(boot.peer_id()));
}

}  // namespace swarmd::e2e
