#pragma once
// The dashboard served at `/`: one static page (HTML, CSS and JS, no build step, no external
// resources) that polls /api/status and shows the node, its training and the swarm it sees.
#include <string_view>

namespace swarmd::node {

std::string_view dashboard_html();

}  // namespace swarmd::node
