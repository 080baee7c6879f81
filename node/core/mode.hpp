#pragma once
// What the daemon composes: the mode a node runs (ZO: node/zo/node.hpp, SAPO:
// node/sapo/node.hpp). The daemon owns the identity, host, gossip, joiner, HTTP, the status
// topic and signals; the mode owns its topic, its engine and its protocols, and adds its fields
// to heartbeats, /api/status and /metrics. Every call is on the io thread.
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "crypto/peer_id.hpp"
#include "node/ops/status_message.hpp"

namespace swarmd::node {

class ModeNode {
  public:
    virtual ~ModeNode() = default;

    // Subscribes to the mode's topic, serves its protocols and begins (a relay only validates
    // and forwards).
    virtual void start() = 0;
    // A peer was identified (connected and its protocols known).
    virtual void peer_identified(const crypto::PeerId& peer) = 0;
    // Finishes the current step, saves what must be saved and stops the timers.
    virtual void stop() = 0;

    // A heartbeat from another node, as the status validator let it through.
    virtual void on_status(const crypto::PeerId& author, const Heartbeat& beat) = 0;
    // The daemon forgot the author's heartbeat (stale, or to make room): so does the mode.
    virtual void forget(const crypto::PeerId& author) = 0;
    // Sets the mode's fields of our heartbeat (round, merge state, ...).
    virtual void heartbeat(Heartbeat& beat) const = 0;
    // Sets the mode's fields of /api/status.
    virtual void status(nlohmann::json& status) const = 0;
    // Sets the mode's metrics (called before /metrics renders).
    virtual void update_metrics() = 0;

    // The mode's gossip topic (the joiner protects its mesh peers).
    virtual std::string topic() const = 0;
    virtual bool trains() const = 0;
    virtual std::uint64_t current_round() const = 0;
    // The spec's merge round, or the lowest one a merge order named.
    virtual std::uint64_t merge_round() const = 0;
    // The spec's staleness window for this mode (a merge order leads the swarm by twice it).
    virtual std::uint64_t staleness() const = 0;
    // A merge order signed by one of the spec's operators (ours or a peer's) names `round`:
    // orders only lower the merge round, so concurrent ones settle on the lowest everywhere.
    virtual void request_merge(const crypto::PeerId& from, std::uint64_t round) = 0;

    // The node's whole heartbeat (the daemon's fields and the mode's), for a mode that
    // publishes one out of turn (training started, weights committed).
    void set_heartbeat_source(std::function<Heartbeat()> source) {
        m_heartbeat_source = std::move(source);
    }

  protected:
    std::function<Heartbeat()> m_heartbeat_source;
};

}  // namespace swarmd::node
