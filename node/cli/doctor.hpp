#pragma once
// What `swarmd doctor` says about a node running on this machine, from its /api/status: how it
// is reached (public, behind NAT, relayed via which relays) and how its links run (direct,
// made direct by a hole punch, or still relayed).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmd::node {

std::vector<std::string> running_node_report(const nlohmann::json& status);

}  // namespace swarmd::node
