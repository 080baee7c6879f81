// What `swarmd doctor` prints about a node running on this machine, from its /api/status.
#include <catch2/catch.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/cli/doctor.hpp"

using namespace swarmd::node;
using nlohmann::json;

namespace {

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
    for (const auto& l : lines)
        if (l.find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("doctor on a running node behind NAT names its relays and its hole-punched links",
          "[doctor]") {
    const std::string relay =
        swarmd::crypto::PeerId::from_public_key(swarmd::crypto::PrivateKey::generate().public_key())
            .to_base58();
    const json status = {{"peer_id", "12D3KooWA"},
                         {"reach",
                          {{"reachability", "unknown"},
                           {"behind_nat", true},
                           {"relay_addrs",
                            {"/ip4/198.18.0.2/tcp/4001/p2p/" + relay + "/p2p-circuit",
                             "/ip4/1.2.3.4/tcp/1", "not an address"}},
                           {"hole_punch",
                            {{"attempts", 4},
                             {"answered", 1},
                             {"direct_upgrades", 2},
                             {"unilateral_upgrades", 0},
                             {"failed", {{"timeout", 1}}}}}}},
                         {"links",
                          {{{"peer", "a"}, {"relayed", false}},
                           {{"peer", "b"}, {"relayed", false}},
                           {{"peer", "c"}, {"relayed", true}}}}};
    const auto lines = running_node_report(status);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "the node running here (12D3KooWA): reachability unknown, behind NAT");
    CHECK(lines[1] == "  relayed via " + relay + " (nodes behind NAT reach it through these)");
    CHECK(lines[2].find("2 direct (2 made direct by hole punch") != std::string::npos);
    CHECK(lines[2].find("1 relayed") != std::string::npos);
    CHECK(has_line(lines, "1 hole punches failed"));
}

TEST_CASE("doctor on a public running node, and on answers that are not a status", "[doctor]") {
    const json status = {{"peer_id", "12D3KooWB"},
                         {"reach", {{"reachability", "public"}, {"behind_nat", false}}},
                         {"links", {{{"peer", "a"}, {"relayed", false}}}}};
    const auto lines = running_node_report(status);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "the node running here (12D3KooWB): reachability public");
    CHECK(lines[1] == "  connections: 1 direct, 0 relayed");
    CHECK(running_node_report(json::array()).empty());
    CHECK(running_node_report(json("garbage")).empty());
    // Wrong types inside do not throw.
    const json odd = {{"reach", {{"relay_addrs", {1, 2}}, {"behind_nat", true}}},
                      {"links", {1, "x"}}};
    const auto odd_lines = running_node_report(odd);
    CHECK(has_line(odd_lines, "no relay reservation yet"));
}
