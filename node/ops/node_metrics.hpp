#pragma once
// The node's own counters on /metrics, read from where they are kept (the host, the gossip
// router, the HTTP server) just before each render; the mode adds its own (ModeNode::
// update_metrics).
#include <cstddef>

#include "net/gossipsub.hpp"
#include "net/host.hpp"
#include "node/ops/http_server.hpp"
#include "node/ops/metrics.hpp"

namespace swarmd::node {

void export_gossip_metrics(Metrics& metrics, const net::gossipsub::Stats& stats);
void export_host_metrics(Metrics& metrics, const net::HostStats& host, std::size_t connections);
// Session bytes over direct and relayed connections (swarmd_net_bytes_total{path,direction}).
void export_traffic_metrics(Metrics& metrics, const net::HostTraffic& traffic);
void export_http_metrics(Metrics& metrics, const HttpStats& http);

}  // namespace swarmd::node
