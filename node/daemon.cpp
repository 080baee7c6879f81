#include "node/daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "bootstrap/dnsaddr.hpp"
#include "bootstrap/hello.hpp"
#include "bootstrap/joiner.hpp"
#include "bootstrap/peer_exchange.hpp"
#include "bootstrap/peer_list.hpp"
#include "bootstrap/peer_store.hpp"
#include "bootstrap/reach.hpp"
#include "bootstrap/rendezvous.hpp"
#include "crypto/keys.hpp"
#include "net/dcutr_service.hpp"
#include "net/host.hpp"
#include "net/interface_addrs.hpp"
#include "net/kad.hpp"
#include "net/kad_service.hpp"
#include "net/pubsub.hpp"
#include "node/core/mode.hpp"
#include "node/ops/dashboard.hpp"
#include "node/ops/http_server.hpp"
#include "node/ops/metrics.hpp"
#include "node/ops/node_metrics.hpp"
#include "node/ops/status_board.hpp"
#include "node/ops/status_message.hpp"
#include "node/sapo/node.hpp"
#include "node/spec/spec.hpp"
#include "node/version.hpp"
#include "node/zo/node.hpp"

namespace swarmd::node {
namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// A merge request names a round this far ahead of the requester's, so that every node hears it
// before it gets there.
constexpr std::uint64_t kMinMergeLead = 10;

// Loads the node's identity, creating it (0600, in a 0700 directory) on first start.
crypto::PrivateKey load_or_create_identity(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto key = crypto::read_key_file(path);
        if (!key) throw std::runtime_error(path.string() + ": " + key.error().message());
        return std::move(key.value());
    }
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        ::chmod(path.parent_path().c_str(), 0700);
    }
    auto key = crypto::PrivateKey::generate();
    auto written = crypto::write_key_file(path, key, false);
    if (!written) throw std::runtime_error(path.string() + ": " + written.error().message());
    category_log("node")->info("created identity {}", path.string());
    return key;
}

// What a mode is built from: the daemon's io context, host, gossip, spec, identity and metrics.
struct ModeContext {
    asio::io_context& io;
    net::Host& host;
    net::Pubsub& pubsub;
    const Spec& spec;
    const SwarmId& swarm_id;
    const crypto::PrivateKey& identity;
    Metrics& metrics;
};

// The one place that picks the mode: the spec's.
std::unique_ptr<ModeNode> make_mode(const ModeContext& c, const NodeConfig& config,
                                    const RunOptions& run, ZoNode::KnownPeers known_peers) {
    if (c.spec.mode == Mode::sapo) {
        SapoNodeOptions options;
        options.relay_only = run.bootstrap_node;
        options.policy = run.policy;
        options.dir = config.data_dir / "sapo";
        options.round_interval = run.round_interval;
        return std::make_unique<SapoNode>(c.io, c.host, c.pubsub, c.spec, c.swarm_id,
                                          crypto::PeerId::from_public_key(c.identity.public_key()),
                                          c.metrics, options);
    }
    ZoNodeOptions options;
    options.relay_only = run.bootstrap_node;
    options.dir = config.data_dir / "zo";
    options.round_interval = run.round_interval;
    options.merge_grace = run.merge_grace;
    options.status_interval = run.status_interval;
    options.trace_updates = run.trace_updates;
    return std::make_unique<ZoNode>(c.io, c.host, c.pubsub, c.spec, c.swarm_id, c.identity,
                                    c.metrics, options, std::move(known_peers));
}

class Daemon {
  public:
    Daemon(const NodeConfig& config, const RunOptions& options, Spec spec,
           net::HostOptions host_options)
        : m_config(config),
          m_options(options),
          m_spec(std::move(spec)),
          m_swarm_id(SwarmId::of(m_spec)),
          m_identity(load_or_create_identity(config.key_file)),
          m_peer_id(crypto::PeerId::from_public_key(m_identity.public_key())),
          m_host(m_io.get_executor(), m_identity.clone(), std::move(host_options)),
          m_resolver(m_io, {}),
          m_status_timer(m_io),
          m_signals(m_io, SIGINT, SIGTERM),
          m_log(category_log("node")) {}

    int run() {
        if (!m_options.bootstrap_node && !may_train(m_spec, m_peer_id.bytes()))
            m_log->warn(
                "this identity {} is not among the spec's trainers: the swarm will refuse what it "
                "trains",
                m_peer_id.to_base58());
        for (const auto& text : m_config.listen) {
            auto addr = net::Multiaddr::parse(text);
            if (!addr)
                throw std::runtime_error("listen address " + text + ": " + addr.error().message());
            auto bound = m_host.listen(addr.value());
            if (!bound)
                throw std::runtime_error("cannot listen on " + text + ": " +
                                         bound.error().message());
        }
        m_log->info("swarmd {} peer {} swarm {} ({}, mode {}){}", version(), m_peer_id.to_base58(),
                    m_swarm_id.short_hex(), m_spec.name, to_string(m_spec.mode),
                    m_options.bootstrap_node ? " as a bootstrap node" : "");
        start_gossip();
        start_join();
        start_mode();
        start_http();
        start_status();
        m_signals.async_wait([this](boost::system::error_code ec, int signal) {
            if (!ec) shutdown(signal);
        });
        m_io.run();
        return 0;
    }

  private:
    void start_gossip() {
        m_pubsub = std::make_shared<net::Pubsub>(m_io.get_executor(), m_host, m_identity.clone());
        const bootstrap::Hello hello{
            m_swarm_id.bytes(),
            m_options.bootstrap_node ? bootstrap::Role::bootstrap : bootstrap::Role::trainer,
            bootstrap::HelloStatus::ok};
        m_hello = hello;
        bootstrap::serve_hello(m_host, hello, [this](const crypto::PeerId& peer) {
            return m_pubsub->router().score(peer) <
                   m_pubsub->router().options().thresholds.graylist;
        });
        m_pubsub->start();
        m_host.on_identify(
            [this](const std::shared_ptr<net::Connection>& c, const net::IdentifyInfo& info) {
                if (m_kad) m_kad->on_identify(c, info);
                if (m_reach) m_reach->on_identify(c, info);
                m_pubsub->peer_identified(c, info);
                // DHT peers (and other plain libp2p nodes) are no swarm peers: only nodes that
                // serve the swarmd hello join the swarm's bookkeeping.
                const bool swarmd_peer = info.lists(bootstrap::kHelloProtocol);
                if (!swarmd_peer) return;
                m_mode->peer_identified(c->remote_peer());
                if (m_joiner) {
                    std::vector<std::string> addrs;
                    for (const auto& raw : info.listen_addrs) {
                        if (auto a = net::Multiaddr::from_bytes(raw))
                            addrs.push_back(a.value().to_string());
                    }
                    m_joiner->on_connected(c, addrs);
                }
            });
        m_host.on_connection_closed([this](const std::shared_ptr<net::Connection>& c) {
            if (m_reach) m_reach->on_connection_closed(c);
            const auto peer = c->remote_peer();
            m_pubsub->peer_closed(peer);
            // A second connection to the same peer carries on the gossip.
            if (auto other = m_host.connection_to(peer)) {
                if (const auto* info = m_host.identified(peer))
                    m_pubsub->peer_identified(other, *info);
                return;
            }
            if (m_joiner) m_joiner->on_disconnected(peer);
        });

        std::vector<crypto::PeerId> operators;
        for (const auto& text : m_spec.merge_operators) {
            operators.push_back(
                crypto::PeerId::parse(text).value());  // the spec parser checked each one
        }
        StatusBoardOptions board;
        board.interval = m_options.status_interval;
        m_board = std::make_unique<StatusBoard>(
            m_swarm_id.bytes(), m_peer_id, std::move(operators), m_metrics, board,
            [this](const crypto::PeerId& peer) { return m_host.connection_to(peer) != nullptr; },
            [this](const crypto::PeerId& peer) { m_mode->forget(peer); });
        m_pubsub->subscribe(status_topic(m_swarm_id),
                            [this](const net::gossipsub::Delivery& d) { on_status(d); });
        m_pubsub->set_validator(status_topic(m_swarm_id), [this](net::gossipsub::Delivery& d) {
            return m_board->validate(d, std::chrono::steady_clock::now());
        });
    }

    void start_join() {
        auto store = bootstrap::PeerStore::load(m_config.data_dir / "peers.json");
        if (!store) {
            m_log->warn("peer store {}: {}; starting with an empty one",
                        (m_config.data_dir / "peers.json").string(), store.error().message());
            store = bootstrap::PeerStore{};
        }
        bootstrap::JoinOptions options;
        options.peer_store_path = m_config.data_dir / "peers.json";
        options.role =
            m_options.bootstrap_node ? bootstrap::Role::bootstrap : bootstrap::Role::trainer;
        auto list =
            bootstrap::effective_peer_list({m_config.bootstrap, m_config.no_default_bootstrap});
        std::random_device rd;
        m_joiner = std::make_shared<bootstrap::Joiner>(m_io.get_executor(), m_host, m_resolver,
                                                       std::move(store.value()), list, m_hello,
                                                       options, rd());
        m_joiner->set_protected([this](const crypto::PeerId& peer) {
            for (const auto& topic : {m_mode->topic(), status_topic(m_swarm_id)}) {
                auto mesh = m_pubsub->router().mesh_peers(topic);
                if (std::find(mesh.begin(), mesh.end(), peer) != mesh.end()) return true;
            }
            return false;
        });
        bootstrap::serve_peer_exchange(m_host, [joiner = std::weak_ptr(m_joiner)] {
            auto j = joiner.lock();
            return j ? j->known_peers() : std::vector<bootstrap::PeerInfo>{};
        });
        m_pubsub->on_peer_exchange(
            [this](const crypto::PeerId& peer, const std::vector<net::Multiaddr>& addrs) {
                std::vector<std::string> text;
                for (const auto& a : addrs) text.push_back(a.to_string());
                // PX does not say who vouched for a record: a node that listens on loopback only is
                // a local testnet and takes loopback peers; any other takes public addresses only.
                if (m_joiner && !text.empty())
                    m_joiner->add_candidate(peer, std::move(text), informant_scope());
            });
        start_rendezvous();
        m_joiner->start();
    }

    // Addresses learned from PX or the DHT do not say who vouched for them: a node that listens
    // on loopback only is a local testnet and takes loopback peers; any other takes public
    // addresses only.
    bootstrap::Scope informant_scope() const {
        bool local_only = !m_host.listen_addrs().empty();
        for (const auto& a : m_host.listen_addrs())
            if (bootstrap::scope_of(a) != bootstrap::Scope::loopback) local_only = false;
        return local_only ? bootstrap::Scope::loopback : bootstrap::Scope::public_net;
    }

    // The swarm's rendezvous on the DHT (bootstrap/rendezvous.hpp): client mode, except that a
    // bootstrap node serves the DHT for the swarm's trainers.
    void start_rendezvous() {
        net::KadServiceOptions kad_options;
        kad_options.advertised_addrs = [this] {
            return m_reach ? m_reach->advertised_addrs()
                           : net::announced_addrs(m_host.listen_addrs());
        };
        m_kad = std::make_shared<net::KadService>(m_io.get_executor(), m_host, kad_options);
        bootstrap::ReachOptions reach;
        for (const auto& text : m_config.treat_as_public)
            reach.treat_as_public.push_back(*net::Cidr::parse(text));  // the config checked it
        reach.public_roles = m_options.bootstrap_node;
        const RelayLimits& limits = m_config.relay;
        auto& server = reach.relay_server;
        if (limits.reservations) server.max_reservations = *limits.reservations;
        if (limits.reservations_per_ip)
            server.max_reservations_per_ip = *limits.reservations_per_ip;
        if (limits.circuits) server.max_circuits = *limits.circuits;
        if (limits.circuits_per_peer) server.max_circuits_per_peer = *limits.circuits_per_peer;
        if (limits.circuit_seconds)
            server.circuit_limit.duration = static_cast<std::uint32_t>(*limits.circuit_seconds);
        if (limits.circuit_bytes) server.circuit_limit.data = *limits.circuit_bytes;
        m_reach = std::make_shared<bootstrap::Reach>(m_io.get_executor(), m_host, m_identity,
                                                     *m_kad, reach);
        m_reach->start();
        m_kad->start();
        bootstrap::Rendezvous::Hooks hooks;
        hooks.is_swarm_peer = [this](const crypto::PeerId& peer) {
            return m_joiner && m_joiner->connected_peers().contains(peer);
        };
        hooks.wants_peers = [this] {
            return m_joiner && m_joiner->connected() < bootstrap::JoinOptions::kDefaultTargetPeers;
        };
        hooks.found = [this](const crypto::PeerId& peer, std::vector<std::string> addrs) {
            if (m_joiner) m_joiner->add_candidate(peer, std::move(addrs), informant_scope());
        };
        const Bytes key = net::kad::rendezvous_key("floodsub:" + status_topic(m_swarm_id));
        m_rendezvous = std::make_shared<bootstrap::Rendezvous>(m_io.get_executor(), m_host, *m_kad,
                                                               key, std::move(hooks));
        m_joiner->set_dht_peer_handler([r = std::weak_ptr(m_rendezvous)](const auto& connection) {
            if (auto rendezvous = r.lock()) rendezvous->add_dht_peer(connection);
        });
        m_reach->on_addrs_changed([r = std::weak_ptr(m_rendezvous)] {
            if (auto rendezvous = r.lock()) rendezvous->addrs_changed();
        });
        m_log->info("rendezvous key {} (DHT {} mode)", net::kad::key_cid(key),
                    m_kad->server_mode() ? "server" : "client");
        m_rendezvous->start();
    }

    // The mode (node/core/mode.hpp) owns its topic, engine and protocols; this only wires it in.
    void start_mode() {
        ModeContext context{m_io, m_host, *m_pubsub, m_spec, m_swarm_id, m_identity, m_metrics};
        m_mode = make_mode(context, m_config, m_options, [this] {
            std::vector<crypto::PeerId> peers;
            for (const auto& info : m_joiner->known_peers()) peers.push_back(info.peer);
            return peers;
        });
        m_mode->set_heartbeat_source([this] { return own_heartbeat(); });
        m_mode->start();
    }

    void on_status(const net::gossipsub::Delivery& d) {
        auto got = m_board->receive(d, std::chrono::steady_clock::now());
        if (got.order) on_merge_order(*got.order);
        if (got.beat) m_mode->on_status(d.author, *got.beat);
    }

    json status_json() const {
        json addrs = json::array();
        for (const auto& a : m_host.listen_addrs()) addrs.push_back(a.to_string());
        const auto& stats = m_pubsub->router().stats();
        json mesh = json::object();
        mesh[status_topic(m_swarm_id)] =
            m_pubsub->router().mesh_peers(status_topic(m_swarm_id)).size();
        json peer_ids = json::array();
        for (const auto& peer : m_joiner->connected_peers()) peer_ids.push_back(peer.to_base58());
        // Every usable connection: to whom, where, which way, whether a relay carries it, and
        // the peer's standing in gossip (its score, and how many of our topic meshes hold it).
        json links = json::array();
        const auto& router = m_pubsub->router();
        for (const auto& c : m_host.connections()) {
            if (!c->usable()) continue;
            const auto& peer = c->remote_peer();
            links.push_back({{"peer", peer.to_base58()},
                             {"addr", c->remote_addr().to_string()},
                             {"outbound", c->outbound()},
                             {"relayed", c->relayed()},
                             {"gossip_score", router.score(peer)},
                             {"mesh_topics", router.mesh_topics(peer)}});
        }
        json j = {
            {"version", version()},
            {"peer_id", m_peer_id.to_base58()},
            {"addresses", addrs},
            {"swarm_id", m_swarm_id.hex()},
            {"spec", m_spec.name},
            {"mode", to_string(m_spec.mode)},
            {"role", m_options.bootstrap_node ? "bootstrap" : "trainer"},
            {"connections", m_host.connection_count()},
            {"peer_ids", peer_ids},
            {"links", links},
            {"traffic", traffic_json(m_host.traffic())},
            {"gossip_peers", m_pubsub->peer_count()},
            {"mesh", mesh},
            {"messages_in", stats.messages_received},
            {"messages_out", stats.messages_sent},
            {"bytes_out", stats.bytes_sent},
            {"control_bytes_out", stats.control_bytes_sent},
            {"messages_published", stats.published},
            {"rounds", m_spec.rounds},
            {"merge_round", merge_round()},
            // What the mode does not set (a relay's).
            {"round", 0},
            {"loss", 0.0},
            {"accuracy", -1.0},
            {"merge_state", m_options.bootstrap_node ? "relay" : "training"},
            {"merged_hash", ""},
            {"swarm_peers", m_board->peers_json()},
            {"reach", reach_json()},
            {"dht",
             {{"mode", m_kad->server_mode() ? "server" : "client"},
              {"routing_table", m_kad->routing_table_size()},
              {"rendezvous_key", net::kad::key_cid(m_rendezvous->key())},
              {"rendezvous_state", m_rendezvous->state()},
              {"announced_to", m_rendezvous->stats().announced_to},
              {"lookups", m_rendezvous->stats().lookups},
              {"providers_seen", m_rendezvous->stats().providers_seen}}},
        };
        m_mode->status(j);
        return j;
    }

    json reach_json() const {
        auto texts = [](const std::vector<net::Multiaddr>& addrs) {
            json out = json::array();
            for (const auto& a : addrs) out.push_back(a.to_string());
            return out;
        };
        return {{"reachability", std::string(net::autonat::to_string(m_reach->reachability()))},
                {"behind_nat", m_reach->behind_nat()},
                {"public_roles", m_reach->serving_public_roles()},
                {"relay_addrs", texts(m_reach->relay_addrs())},
                {"confirmed_addrs", texts(m_reach->confirmed_addrs())},
                {"advertised_addrs", texts(m_reach->advertised_addrs())},
                {"hole_punch", dcutr_json(m_reach->dcutr_stats())}};
    }

    static json traffic_json(const net::HostTraffic& t) {
        return {{"direct_sent", t.direct_sent},
                {"direct_received", t.direct_received},
                {"relayed_sent", t.relayed_sent},
                {"relayed_received", t.relayed_received}};
    }

    static json dcutr_json(const net::DcutrStats& stats) {
        json failed = json::object();
        for (const auto& [reason, n] : stats.failed_by_reason) failed[reason] = n;
        return {{"attempts", stats.attempts},
                {"answered", stats.answered},
                {"direct_upgrades", stats.direct_upgrades},
                {"unilateral_upgrades", stats.unilateral_upgrades},
                {"failed", failed}};
    }

    std::string metrics_text() {
        export_gossip_metrics(m_metrics, m_pubsub->router().stats());
        export_host_metrics(m_metrics, m_host.stats(), m_host.connection_count());
        export_traffic_metrics(m_metrics, m_host.traffic());
        if (m_http) export_http_metrics(m_metrics, m_http->stats());
        m_metrics.gauge("swarmd_dht_routing_table_peers", "Peers in the DHT routing table")
            .set(static_cast<double>(m_kad->routing_table_size()));
        const auto& rendezvous = m_rendezvous->stats();
        m_metrics.counter("swarmd_rendezvous_lookups_total", "Provider lookups of the swarm key")
            .set(rendezvous.lookups);
        m_metrics
            .counter("swarmd_rendezvous_providers_total",
                     "Providers of the swarm key found (ours excluded), summed over lookups")
            .set(rendezvous.providers_seen);
        m_metrics
            .counter("swarmd_rendezvous_idle_closed_total",
                     "Idle connections the DHT opened outside the swarm, closed")
            .set(rendezvous.idle_closed);
        const auto& punch = m_reach->dcutr_stats();
        m_metrics
            .counter(
                "swarmd_hole_punch_rounds_total",
                "DCUtR hole-punch rounds this node started (the inbound end of a relayed link)")
            .set(punch.attempts);
        m_metrics
            .counter("swarmd_hole_punch_direct_total",
                     "Relayed connections upgraded to direct ones, by hole punch or a plain dial")
            .set(punch.direct_upgrades + punch.unilateral_upgrades);
        std::uint64_t punch_failed = 0;
        for (const auto& [reason, n] : punch.failed_by_reason) punch_failed += n;
        m_metrics
            .counter("swarmd_hole_punch_failed_total",
                     "Relayed connections whose upgrade to direct failed (they stay relayed)")
            .set(punch_failed);
        m_mode->update_metrics();
        return m_metrics.render_prometheus();
    }

    void start_http() {
        if (m_config.http == "off") return;
        const auto colon = m_config.http.rfind(':');
        HttpOptions options;
        options.address = m_config.http.substr(0, colon);
        options.port = static_cast<std::uint16_t>(std::stoi(m_config.http.substr(colon + 1)));
        const auto token_path = m_config.data_dir / kHttpTokenFileName;
        auto token = load_or_create_http_token(token_path);
        if (!token)
            throw std::runtime_error("cannot use the HTTP token " + token_path.string() + ": " +
                                     token.error().message() + " (delete it to make a new one)");
        options.token = token.value();
        m_http = std::make_unique<HttpServer>(m_io, options);
        m_http->route("/api/status", [this] {
            return HttpResponse{200, "application/json", status_json().dump() + "\n"};
        });
        m_http->route("/metrics", [this] {
            return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
        });
        m_http->route("/", [] {
            return HttpResponse{200, "text/html; charset=utf-8", std::string(dashboard_html())};
        });
        m_http->route_post("/api/merge",
                           [this](const std::string& body) { return post_merge(body); });
        auto bound = m_http->start();
        if (!bound)
            throw std::runtime_error("cannot serve HTTP on " + m_config.http + ": " +
                                     bound.error().message());
        m_log->info("status on http://{}:{}/api/status", bound.value().address().to_string(),
                    bound.value().port());
        if (bound.value().address().is_loopback()) {
            m_log->info("http: POST needs the bearer token in {}", token_path.string());
        } else {
            m_log->warn(
                "http on a non-loopback address: every request needs the bearer token in {}",
                token_path.string());
        }
    }

    void start_status() {
        m_status_timer.expires_after(m_options.status_interval);
        m_status_timer.async_wait([this](boost::system::error_code ec) {
            if (ec || m_stopping) return;
            m_board->prune(std::chrono::steady_clock::now());
            (void)m_pubsub->publish(status_topic(m_swarm_id), encode_status(own_heartbeat()));
            start_status();
        });
    }

    Heartbeat own_heartbeat() const {
        Heartbeat beat;
        beat.trainer = !m_options.bootstrap_node;
        beat.merge_round = merge_round();
        beat.merge_state = m_options.bootstrap_node ? "relay" : "training";
        beat.peers = m_host.connection_count();
        beat.version = version();
        beat.order = m_merge_order;
        m_mode->heartbeat(beat);
        return beat;
    }

    std::uint64_t merge_round() const { return m_mode->merge_round(); }

    // `swarmd merge`: POST /api/merge {"round": R} (optional). Publishes a signed merge request
    // on the status topic and applies it here; see docs/operations.md for the semantics.
    HttpResponse post_merge(const std::string& body) {
        auto error = [](unsigned status, const std::string& what) {
            return HttpResponse{status, "application/json", json{{"error", what}}.dump() + "\n"};
        };
        if (!m_mode->trains()) return error(409, "this node does not train: ask a training node");
        auto j = body.empty() ? json::object() : json::parse(body, nullptr, false);
        if (!j.is_object()) return error(400, "the body must be a JSON object");
        const std::uint64_t lead = std::max<std::uint64_t>(kMinMergeLead, 2 * m_mode->staleness());
        std::uint64_t round = m_mode->current_round() + lead;
        if (auto r = j.find("round"); r != j.end()) {
            if (!r->is_number_unsigned() || r->get<std::uint64_t>() == 0)
                return error(400, "round must be a positive integer");
            round = r->get<std::uint64_t>();
        }
        if (round >= merge_round()) {
            return error(409, fmt::format("the swarm already merges at round {}", merge_round()));
        }
        if (!m_board->is_operator(m_peer_id)) {
            return error(
                403, m_board->operators().empty()
                         ? fmt::format(
                               "this swarm's spec names no merge operators: it merges at round {} "
                               "(spec key merge_operators, docs/security.md)",
                               merge_round())
                         : fmt::format("this node ({}) is not one of the swarm's merge operators "
                                       "(spec key merge_operators)",
                                       m_peer_id.to_base58()));
        }
        const auto order = MergeOrder::sign(m_identity, m_swarm_id.bytes(), round);
        if (auto published = m_pubsub->publish(status_topic(m_swarm_id), encode_status(order));
            !published) {
            return error(503, "cannot publish the merge order: " + published.error().message());
        }
        on_merge_order(order);
        return HttpResponse{200, "application/json", json{{"merge_round", round}}.dump() + "\n"};
    }

    // An early merge needs a merge order signed by one of the spec's operators (the validator
    // refused every other one). Orders only lower the merge round, so concurrent ones settle on
    // the lowest everywhere, whatever order they arrive in; the one followed is passed on in
    // our heartbeats.
    void on_merge_order(const MergeOrder& order) {
        if (!m_board->is_operator(order.signer) || order.round == 0 || order.round >= merge_round())
            return;
        if (!m_mode->trains()) return;
        m_mode->request_merge(order.signer, order.round);
        if (order.round == merge_round()) m_merge_order = order;
    }

    void shutdown(int signal) {
        if (m_stopping) return;
        m_stopping = true;
        m_log->info("signal {}: finishing the current step and leaving", signal);
        m_mode->stop();  // waits for the step in progress
        m_status_timer.cancel();
        if (m_joiner) m_joiner->stop();
        if (m_rendezvous) m_rendezvous->stop();
        if (m_reach) m_reach->stop();
        if (m_kad) m_kad->stop();
        if (m_http) m_http->stop();
        // The last step logged its updates and queued their publication on this thread: let it
        // reach the wire before the links go, or the node's peers cut checkpoints without them.
        auto drain = std::make_shared<asio::steady_timer>(m_io, std::chrono::milliseconds(100));
        drain->async_wait([this, drain](boost::system::error_code) {
            m_pubsub->stop();
            m_host.stop();
            // Give the goodbyes a moment on the wire, then leave.
            drain->expires_after(std::chrono::milliseconds(200));
            drain->async_wait([this, drain](boost::system::error_code) { m_io.stop(); });
        });
    }

    const NodeConfig& m_config;
    RunOptions m_options;
    Spec m_spec;
    SwarmId m_swarm_id;
    asio::io_context m_io{1};
    crypto::PrivateKey m_identity;
    crypto::PeerId m_peer_id;
    net::Host m_host;
    bootstrap::DnsaddrResolver m_resolver;
    bootstrap::Hello m_hello;
    std::shared_ptr<net::Pubsub> m_pubsub;
    std::shared_ptr<bootstrap::Joiner> m_joiner;
    std::shared_ptr<net::KadService> m_kad;
    std::shared_ptr<bootstrap::Rendezvous> m_rendezvous;
    std::shared_ptr<bootstrap::Reach> m_reach;
    Metrics m_metrics;                 // before the mode, which registers its metrics here
    std::unique_ptr<ModeNode> m_mode;  // ZO or SAPO, trainer or relay
    std::unique_ptr<HttpServer> m_http;
    std::unique_ptr<StatusBoard> m_board;  // the status topic's validator and heartbeat table
    asio::steady_timer m_status_timer;
    asio::signal_set m_signals;
    std::shared_ptr<spdlog::logger> m_log;
    bool m_stopping = false;
    std::optional<MergeOrder> m_merge_order;  // the order our merge round comes from
};

}  // namespace

void apply_network_config(const NodeConfig& config, net::ConnectionOptions& options) {
    auto psk = load_psk(config);
    if (!psk) throw std::runtime_error(psk.error().to_string());
    options.psk = std::move(psk).value();
    options.allow_peers = allowed_peers(config);
    auto log = category_log("net");
    if (options.psk)
        log->info(
            "private network: only peers holding the key in {} can connect (public bootstrap "
            "and DHT peers cannot)",
            config.psk_file.string());
    if (options.allow_peers)
        log->info("allowlist: connections with {} listed peers only, either way",
                  options.allow_peers->size());
}

int run_daemon(const NodeConfig& config, const RunOptions& options) {
    FieldResult<Spec> spec = config.spec_file.empty() ? FieldResult<Spec>(default_spec())
                                                      : load_spec_file(config.spec_file);
    if (!spec) throw std::runtime_error(spec.error().to_string());
    net::HostOptions host_options;
    apply_network_config(config, host_options.connection);
    Daemon daemon(config, options, std::move(spec.value()), std::move(host_options));
    return daemon.run();
}

}  // namespace swarmd::node
