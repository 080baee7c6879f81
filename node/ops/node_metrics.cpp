#include "node/ops/node_metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <initializer_list>
#include <utility>

namespace swarmd::node {

void export_gossip_metrics(Metrics& metrics, const net::gossipsub::Stats& stats) {
    // The router's monotonic counts, copied at scrape time.
    auto counter = [&](const char* name, const char* help, std::uint64_t value) {
        metrics.counter(name, help).set(value);
    };
    counter("swarmd_gossip_messages_received_total",
            "Gossip messages received, duplicates included", stats.messages_received);
    counter("swarmd_gossip_messages_sent_total", "Gossip messages sent, IWANT answers included",
            stats.messages_sent);
    counter("swarmd_gossip_sent_bytes_total", "Gossip bytes sent", stats.bytes_sent);
    counter("swarmd_gossip_duplicates_total", "Duplicate gossip messages received",
            stats.duplicates);
    using Reasons = std::initializer_list<std::pair<const char*, std::uint64_t>>;
    auto by_reason = [&](const char* name, const char* help, Reasons reasons) {
        for (const auto& [reason, value] : reasons)
            metrics.counter(name, help, fmt::format("reason=\"{}\"", reason)).set(value);
    };
    by_reason("swarmd_gossip_rejected_total",
              "Gossip messages rejected (never delivered or forwarded), by reason",
              {{"unsigned", stats.rejected_unsigned},
               {"bad_signature", stats.rejected_signature},
               {"forged_self", stats.rejected_forged_self},
               {"invalid", stats.rejected_invalid}});
    by_reason("swarmd_gossip_peers_dropped_total",
              "Gossip peers dropped for what they sent, by reason",
              {{"rpc_too_large", stats.dropped_too_large},
               {"malformed_rpc", stats.dropped_malformed},
               {"other", stats.dropped_other}});
    counter("swarmd_gossip_graylisted_rpcs_total",
            "RPCs ignored because their sender's score is below the graylist threshold",
            stats.graylisted_rpcs);
}

void export_host_metrics(Metrics& metrics, const net::HostStats& host, std::size_t connections) {
    metrics.gauge("swarmd_connections", "Open libp2p connections")
        .set(static_cast<double>(connections));
    const char* refused_help =
        "Inbound sockets and dials the host refused, by limit, and connections to or from peers "
        "off the allowlist";
    const char* refused = "swarmd_net_connections_refused_total";
    metrics.counter(refused, refused_help, "reason=\"inbound_limit\"")
        .set(host.refused_inbound_limit);
    metrics.counter(refused, refused_help, "reason=\"address_limit\"")
        .set(host.refused_address_limit);
    metrics.counter(refused, refused_help, "reason=\"handshake_limit\"")
        .set(host.refused_handshake_limit);
    metrics.counter(refused, refused_help, "reason=\"outbound_limit\"")
        .set(host.refused_outbound_limit);
    metrics.counter(refused, refused_help, "reason=\"not_allowed\"").set(host.refused_not_allowed);
    for (const auto& [reason, count] : host.failed_by_reason) {
        metrics
            .counter("swarmd_net_connections_failed_total",
                     "Connections that ended in failure, by reason",
                     fmt::format("reason=\"{}\"", reason))
            .set(count);
    }
}

void export_traffic_metrics(Metrics& metrics, const net::HostTraffic& traffic) {
    const char* help =
        "Session bytes over libp2p connections, by path (direct or relayed) and direction";
    const char* name = "swarmd_net_bytes_total";
    metrics.counter(name, help, "path=\"direct\",direction=\"sent\"").set(traffic.direct_sent);
    metrics.counter(name, help, "path=\"direct\",direction=\"received\"")
        .set(traffic.direct_received);
    metrics.counter(name, help, "path=\"relayed\",direction=\"sent\"").set(traffic.relayed_sent);
    metrics.counter(name, help, "path=\"relayed\",direction=\"received\"")
        .set(traffic.relayed_received);
}

void export_http_metrics(Metrics& metrics, const HttpStats& http) {
    const char* help = "HTTP requests refused, by reason";
    const char* name = "swarmd_http_refused_total";
    metrics.counter(name, help, "reason=\"host\"").set(http.bad_host);
    metrics.counter(name, help, "reason=\"origin\"").set(http.bad_origin);
    metrics.counter(name, help, "reason=\"token\"").set(http.bad_token);
    metrics.counter(name, help, "reason=\"too_large\"").set(http.too_large);
    metrics.counter(name, help, "reason=\"evicted_slow\"").set(http.evicted);
}

}  // namespace swarmd::node
