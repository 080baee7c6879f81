#include "net/gossipsub.hpp"

#include <algorithm>

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include "base/log.hpp"
#include "base/varint.hpp"
#include "net/error.hpp"

namespace swarmd::net::gossipsub {
namespace {

// The stream framing's errors in the router's terms.
std::error_code framing_error(std::error_code e) {
    return e == net::Errc::message_too_large ? make_error_code(Errc::rpc_too_large)
                                             : make_error_code(Errc::bad_length_prefix);
}

using crypto::PeerId;

spdlog::logger& log() {
    static const std::shared_ptr<spdlog::logger> logger = category_log("gossip");
    return *logger;
}

// Per-message logs format peer ids, so they are skipped unless debug logging is on.
bool debug_on() { return log().should_log(spdlog::level::debug); }

std::uint64_t seconds_of(Duration d) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

std::string peer_bytes(const PeerId& peer) { return std::string(as_string_view(peer.bytes())); }

// A PRUNE may ask for at most this long a backoff; longer asks are clamped.
constexpr Duration kMaxPeerBackoff = std::chrono::hours(1);

}  // namespace

std::optional<Protocol> parse_protocol(std::string_view id) {
    if (id == kProtocolV11) return Protocol::v11;
    if (id == kProtocolV10) return Protocol::v10;
    return std::nullopt;
}

struct Router::Pending {
    std::vector<std::pair<bool, std::string>> subscriptions;
    std::vector<detail::CachedMessagePtr> messages;
    pb::ControlMessage control;
    bool has_control = false;
};

struct Router::PeerState {
    PeerState(std::uint64_t s, Protocol p, bool out, std::size_t max_rpc)
        : serial(s), protocol(p), outbound(out), decoder(max_rpc) {}

    std::uint64_t serial;
    Protocol protocol;
    bool outbound;
    std::unordered_set<std::string> topics;
    LengthPrefixedDecoder decoder;
    std::size_t queued = 0;
    std::size_t ihave_received = 0;  // IHAVE messages this heartbeat
    std::size_t iasked = 0;          // ids requested from this peer this heartbeat
    bool dirty = false;
    Pending pending;
};

Router::Router(crypto::PrivateKey key, Options options)
    : m_key(std::move(key)),
      m_self(PeerId::from_public_key(m_key.public_key())),
      m_options(std::move(options)),
      m_rng(m_options.rng_seed ? *m_options.rng_seed : std::random_device{}()),
      m_seqno(m_options.initial_seqno ? *m_options.initial_seqno
                                      : static_cast<std::uint64_t>(
                                            std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count())),
      m_score(m_options.score),
      m_seen(m_options.seen_ttl, m_options.max_seen_entries),
      m_mcache(m_options.mcache_len, m_options.mcache_gossip, m_options.max_mcache_bytes) {}

Router::~Router() = default;

Router::PeerState* Router::find_peer(const PeerId& peer) {
    const auto it = m_peers.find(peer);
    return it == m_peers.end() ? nullptr : it->second.get();
}

Router::Pending& Router::pending(const PeerId& peer, PeerState& state) {
    if (!state.dirty) {
        state.dirty = true;
        m_dirty.push_back(peer);
    }
    return state.pending;
}

// ---------------------------------------------------------------------------------------------
// Output

Actions Router::flush() {
    std::vector<PeerId> overflowed;
    for (const PeerId& peer : m_dirty) {
        PeerState* state = find_peer(peer);
        if (!state || !state->dirty) continue;
        state->dirty = false;
        Pending p = std::exchange(state->pending, Pending{});

        // Serialized RPCs concatenate into one RPC, so an RPC body is
        // [subscriptions] [publish entries...] [control], split across frames at max_rpc_size.
        std::string head;
        std::string tail;
        if (!p.subscriptions.empty()) {
            pb::RPC rpc;
            for (auto& [sub, topic] : p.subscriptions) {
                auto* s = rpc.add_subscriptions();
                s->set_subscribe(sub);
                s->set_topicid(std::move(topic));
            }
            head = rpc.SerializeAsString();
        }
        if (p.has_control) {
            m_stats.grafts_sent += static_cast<std::uint64_t>(p.control.graft_size());
            m_stats.prunes_sent += static_cast<std::uint64_t>(p.control.prune_size());
            for (const auto& ih : p.control.ihave()) m_stats.ihave_ids_sent += ih.messageids_size();
            for (const auto& iw : p.control.iwant()) m_stats.iwant_ids_sent += iw.messageids_size();
            pb::RPC rpc;
            *rpc.mutable_control() = std::move(p.control);
            tail = rpc.SerializeAsString();
        }
        m_stats.control_bytes_sent += head.size() + tail.size();

        Bytes out;
        Bytes body;
        append(body, as_bytes(head));
        auto emit = [&] {
            append_length_prefixed(out, body);
            body.clear();
            ++m_stats.rpcs_sent;
        };
        for (const auto& m : p.messages) {
            const std::size_t entry = 1 + varint_size(m->raw.size()) + m->raw.size();
            if (!body.empty() && body.size() + entry > m_options.max_rpc_size) emit();
            body.push_back(0x12);  // RPC.publish, length-delimited
            varint_append(body, m->raw.size());
            append(body, as_bytes(m->raw));
            ++m_stats.messages_sent;
        }
        if (!body.empty() && body.size() + tail.size() > m_options.max_rpc_size) emit();
        append(body, as_bytes(tail));
        if (!body.empty()) emit();
        if (out.empty()) continue;

        m_stats.bytes_sent += out.size();
        state->queued += out.size();
        if (state->queued > m_options.max_outbound_queue_bytes) {
            overflowed.push_back(peer);
            continue;
        }
        m_out.sends.push_back(Send{peer, std::move(out)});
    }
    m_dirty.clear();
    for (const PeerId& peer : overflowed) drop_peer(peer, Errc::outbound_queue_full, m_now);
    return std::exchange(m_out, Actions{});
}

void Router::on_written(const PeerId& peer, std::size_t bytes) {
    if (PeerState* state = find_peer(peer)) state->queued -= std::min(state->queued, bytes);
}

std::size_t Router::queued_bytes(const PeerId& peer) const {
    const auto it = m_peers.find(peer);
    return it == m_peers.end() ? 0 : it->second->queued;
}

// ---------------------------------------------------------------------------------------------
// Peers

Actions Router::add_peer(const PeerId& peer, bool outbound, Protocol protocol, Time now,
                         std::string ip) {
    m_now = now;
    if (peer == m_self || m_peers.contains(peer)) return flush();
    auto state =
        std::make_unique<PeerState>(m_next_serial++, protocol, outbound, m_options.max_rpc_size);
    PeerState& s = *state;
    m_peers.emplace(peer, std::move(state));
    m_score.add_peer(peer, ip, now);
    if (!m_subscriptions.empty()) {
        Pending& p = pending(peer, s);
        for (const auto& topic : m_subscriptions) p.subscriptions.emplace_back(true, topic);
    }
    if (debug_on())
        log().debug("peer added outbound={} protocol={} peer={}", outbound,
                    protocol == Protocol::v11 ? kProtocolV11 : kProtocolV10, peer.short_string());
    return flush();
}

void Router::detach(const PeerId& peer, Time now) {
    const auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    for (const auto& topic : it->second->topics) {
        const auto t = m_topics.find(topic);
        if (t != m_topics.end()) {
            t->second.erase(peer);
            if (t->second.empty()) m_topics.erase(t);
        }
    }
    for (auto& [topic, mesh] : m_mesh) {
        if (mesh.erase(peer) > 0) m_score.prune(peer, topic);
    }
    for (auto& [topic, fanout] : m_fanout) fanout.erase(peer);
    m_score.remove_peer(peer, now);
    m_peers.erase(it);
}

void Router::drop_peer(const PeerId& peer, std::error_code reason, Time now) {
    if (!m_peers.contains(peer)) return;
    log().info("dropping peer: {} peer={}", reason.message(), peer.short_string());
    if (reason == Errc::rpc_too_large) {
        ++m_stats.dropped_too_large;
    } else if (reason == Errc::malformed_rpc || reason == Errc::bad_length_prefix) {
        ++m_stats.dropped_malformed;
    } else {
        ++m_stats.dropped_other;
    }
    m_out.disconnects.push_back(Disconnect{peer, reason});
    detach(peer, now);
}

Actions Router::remove_peer(const PeerId& peer, Time now) {
    m_now = now;
    if (m_peers.contains(peer)) {
        detach(peer, now);
        if (debug_on()) log().debug("peer removed peer={}", peer.short_string());
    }
    return flush();
}

// ---------------------------------------------------------------------------------------------
// Input

Actions Router::handle_data(const PeerId& peer, ByteSpan bytes, Time now) {
    m_now = now;
    PeerState* state = find_peer(peer);
    if (!state) return flush();
    if (auto fed = state->decoder.feed(bytes); !fed) {
        drop_peer(peer, framing_error(fed.error()), now);
        return flush();
    }
    for (;;) {
        auto frame = state->decoder.next();
        if (!frame) {
            drop_peer(peer, framing_error(frame.error()), now);
            break;
        }
        if (!frame.value()) break;
        process_rpc(peer, *frame.value(), now);
        state = find_peer(peer);
        if (!state) break;
    }
    return flush();
}

void Router::restart_inbound(const PeerId& peer) {
    if (PeerState* state = find_peer(peer))
        state->decoder = LengthPrefixedDecoder(m_options.max_rpc_size);
}

Actions Router::handle_rpc(const PeerId& peer, ByteSpan bytes, Time now) {
    m_now = now;
    process_rpc(peer, bytes, now);
    return flush();
}

void Router::process_rpc(const PeerId& peer, ByteSpan bytes, Time now) {
    PeerState* state = find_peer(peer);
    if (!state) return;
    if (bytes.size() > m_options.max_rpc_size) {
        drop_peer(peer, Errc::rpc_too_large, now);
        return;
    }
    if (m_score.score(peer) < m_options.thresholds.graylist) {
        ++m_stats.graylisted_rpcs;
        return;
    }
    // The parsed RPC lives in an arena that starts on the stack: one RPC holds many small
    // strings (ids, fields), and per-string heap allocations dominated decoding.
    alignas(16) char first_block[8192];
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = first_block;
    arena_options.initial_block_size = sizeof(first_block);
    google::protobuf::Arena arena(arena_options);
    auto& rpc = *google::protobuf::Arena::CreateMessage<pb::RPC>(&arena);
    if (!rpc.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        drop_peer(peer, Errc::malformed_rpc, now);
        return;
    }
    for (const auto& sub : rpc.subscriptions()) {
        handle_subscription(peer, *state, sub.subscribe(), sub.topicid());
    }
    for (auto& message : *rpc.mutable_publish()) handle_message(peer, *state, message, now);
    if (rpc.has_control()) {
        const auto& control = rpc.control();
        handle_ihave(peer, *state, control, now);
        handle_iwant(peer, *state, control);
        handle_graft(peer, *state, control, now);
        handle_prune(peer, control, now);
    }
}

void Router::handle_subscription(const PeerId& peer, PeerState& state, bool subscribe,
                                 const std::string& topic) {
    if (topic.size() > m_options.max_topic_length) return;
    if (subscribe) {
        if (state.topics.size() >= m_options.max_topics_per_peer) return;
        if (state.topics.insert(topic).second) m_topics[topic].insert(peer);
        return;
    }
    if (state.topics.erase(topic) == 0) return;
    const auto t = m_topics.find(topic);
    if (t != m_topics.end()) {
        t->second.erase(peer);
        if (t->second.empty()) m_topics.erase(t);
    }
    if (auto mesh = m_mesh.find(topic); mesh != m_mesh.end() && mesh->second.erase(peer) > 0) {
        m_score.prune(peer, topic);
    }
    if (auto fanout = m_fanout.find(topic); fanout != m_fanout.end()) fanout->second.erase(peer);
}

void Router::handle_message(const PeerId& peer, PeerState& state, pb::Message& message, Time now) {
    ++m_stats.messages_received;
    const std::string& topic = message.topic();
    if (!m_subscriptions.contains(topic)) {
        ++m_stats.ignored;
        return;
    }
    if (!message.has_from() || !message.has_seqno() || !message.has_signature()) {
        ++m_stats.rejected_unsigned;
        m_score.invalid_delivery(peer, topic);
        if (debug_on()) log().debug("unsigned message rejected peer={}", peer.short_string());
        return;
    }
    const MessageId id = message_id(message);
    if (message.from() == as_string_view(m_self.bytes())) {
        // Our own message echoed back is a duplicate; one we never published is forged.
        if (m_seen.find(id)) {
            ++m_stats.duplicates;
        } else {
            ++m_stats.rejected_forged_self;
            m_score.invalid_delivery(peer, topic);
        }
        return;
    }
    if (detail::SeenRecord* seen = m_seen.find(id)) {
        ++m_stats.duplicates;
        if (std::find(seen->peers.begin(), seen->peers.end(), state.serial) != seen->peers.end()) {
            return;
        }
        if (seen->peers.size() < 2 * m_options.d_hi) seen->peers.push_back(state.serial);
        switch (seen->status) {
            case detail::DeliveryStatus::valid:
                m_score.duplicate_delivery(peer, topic, seen->validated, now);
                break;
            case detail::DeliveryStatus::invalid:
                m_score.invalid_delivery(peer, topic);
                break;
            case detail::DeliveryStatus::ignored:
                break;
        }
        return;
    }
    auto author = m_options.verifier ? m_options.verifier(message) : verify_message(message);
    if (!author) {
        // Not recorded as seen: the id does not cover the signature, so a forgery must not
        // shadow the real message. Promises stay open: a bad signature does not fulfil them.
        ++m_stats.rejected_signature;
        m_score.invalid_delivery(peer, topic);
        if (debug_on())
            log().debug("message rejected: {} peer={}", author.error().message(),
                        peer.short_string());
        return;
    }
    if (const auto it = m_promises.find(id); it != m_promises.end()) m_promises.erase(it);
    m_iwant_pending.erase(id);

    Delivery delivery{topic,
                      Bytes(message.data().begin(), message.data().end()),
                      std::move(author).value(),
                      decode_seqno(message.seqno()).value_or(0),
                      id,
                      peer,
                      Bytes(message.signature().begin(), message.signature().end()),
                      nullptr};
    Validation verdict = Validation::accept;
    if (const auto v = m_validators.find(topic); v != m_validators.end()) {
        verdict = v->second(delivery);
    }
    detail::SeenRecord record;
    record.validated = now;
    record.peers.push_back(state.serial);
    if (verdict == Validation::reject) {
        record.status = detail::DeliveryStatus::invalid;
        m_seen.insert(id, std::move(record), now);
        ++m_stats.rejected_invalid;
        m_score.invalid_delivery(peer, topic);
        if (debug_on())
            log().debug("message rejected by validator topic={} peer={}", topic,
                        peer.short_string());
        return;
    }
    if (verdict == Validation::ignore) {
        record.status = detail::DeliveryStatus::ignored;
        m_seen.insert(id, std::move(record), now);
        ++m_stats.ignored;
        return;
    }
    m_seen.insert(id, std::move(record), now);
    m_score.first_delivery(peer, topic);

    // Forward the known fields only, as go re-encodes: unknown ones are not ours to relay.
    message.DiscardUnknownFields();
    auto cached = std::make_shared<detail::CachedMessage>();
    cached->id = id;
    cached->topic = topic;
    cached->raw = message.SerializeAsString();
    m_mcache.put(cached);
    forward(cached, peer, delivery.author, false, now);
    ++m_stats.delivered;
    m_out.deliveries.push_back(std::move(delivery));
}

// ---------------------------------------------------------------------------------------------
// Control

void Router::handle_ihave(const PeerId& peer, PeerState& state, const pb::ControlMessage& control,
                          Time now) {
    if (control.ihave_size() == 0) return;
    if (m_score.score(peer) < m_options.thresholds.gossip) return;
    // Caps per heartbeat: IHAVE messages from the peer, and ids we ask it for.
    if (++state.ihave_received > m_options.max_ihave_messages) return;
    if (state.iasked >= m_options.max_ihave_length) return;
    std::vector<MessageId> wanted;
    std::unordered_set<std::string_view> unique;
    const std::size_t budget = m_options.max_ihave_length - state.iasked;
    for (const auto& ihave : control.ihave()) {
        if (!m_mesh.contains(ihave.topicid())) continue;
        for (const auto& id : ihave.messageids()) {
            if (id.size() > Options::kMaxMessageIdLength || m_seen.find(id)) continue;
            if (const auto p = m_iwant_pending.find(id);
                p != m_iwant_pending.end() && p->second > now) {
                continue;  // already asked another peer; its promise is still running
            }
            if (!unique.insert(id).second) continue;
            wanted.push_back(id);
            // Sampling beyond a few budgets gains nothing and costs time on a flood.
            if (wanted.size() >= 2 * budget) break;
        }
    }
    if (wanted.empty()) return;
    std::shuffle(wanted.begin(), wanted.end(), m_rng);
    if (wanted.size() > budget) wanted.resize(budget);
    state.iasked += wanted.size();

    const Time deadline = now + m_options.iwant_followup;
    std::uniform_int_distribution<std::size_t> pick(0, wanted.size() - 1);
    m_promises[wanted[pick(m_rng)]].emplace_back(peer, deadline);
    auto* iwant = pending(peer, state).control.add_iwant();
    pending(peer, state).has_control = true;
    for (auto& id : wanted) {
        m_iwant_pending[id] = deadline;
        iwant->add_messageids(std::move(id));
    }
}

void Router::handle_iwant(const PeerId& peer, PeerState& state, const pb::ControlMessage& control) {
    if (control.iwant_size() == 0) return;
    if (m_score.score(peer) < m_options.thresholds.gossip) return;
    std::size_t asked = 0;
    std::unordered_set<std::string_view> unique;
    for (const auto& iwant : control.iwant()) {
        for (const auto& id : iwant.messageids()) {
            if (++asked > m_options.max_ihave_length) return;
            if (!unique.insert(id).second) continue;
            auto [message, count] = m_mcache.get_for_peer(id, state.serial);
            if (!message || count > m_options.gossip_retransmission) continue;
            pending(peer, state).messages.push_back(std::move(message));
        }
    }
}

void Router::handle_graft(const PeerId& peer, PeerState& state, const pb::ControlMessage& control,
                          Time now) {
    if (control.graft_size() == 0) return;
    const double score = m_score.score(peer);
    bool do_px = m_options.do_px;
    std::vector<std::string> refused;
    for (const auto& graft : control.graft()) {
        const std::string& topic = graft.topicid();
        const auto mesh = m_mesh.find(topic);
        if (mesh == m_mesh.end()) {
            do_px = false;  // an unknown topic: do not leak our peers, and ignore it (spam)
            continue;
        }
        if (mesh->second.contains(peer)) continue;
        if (const auto b = m_backoff.find(topic); b != m_backoff.end()) {
            if (const auto e = b->second.find(peer); e != b->second.end() && now < e->second) {
                // GRAFT while backing off: P7, twice if it came right after our PRUNE.
                m_score.add_penalty(peer, 1);
                const Time flood_cutoff =
                    e->second + m_options.graft_flood_threshold - m_options.prune_backoff;
                if (now < flood_cutoff) m_score.add_penalty(peer, 1);
                do_px = false;
                add_backoff(peer, topic, m_options.prune_backoff, now);
                refused.push_back(topic);
                continue;
            }
        }
        if (score < 0) {
            do_px = false;
            refused.push_back(topic);
            continue;
        }
        // Over D_hi only outbound peers may join: a defence against inbound mesh takeover.
        if (mesh->second.size() >= m_options.d_hi && !state.outbound) {
            refused.push_back(topic);
            continue;
        }
        mesh->second.insert(peer);
        m_score.graft(peer, topic, now);
        if (debug_on()) log().debug("graft accepted topic={} peer={}", topic, peer.short_string());
    }
    for (const auto& topic : refused) send_prune(peer, topic, do_px, false);
}

void Router::handle_prune(const PeerId& peer, const pb::ControlMessage& control, Time now) {
    if (control.prune_size() == 0) return;
    const double score = m_score.score(peer);
    for (const auto& prune : control.prune()) {
        const std::string& topic = prune.topicid();
        const auto mesh = m_mesh.find(topic);
        if (mesh == m_mesh.end()) continue;
        if (mesh->second.erase(peer) > 0) m_score.prune(peer, topic);
        const Duration backoff =
            prune.backoff() > 0
                ? std::min<Duration>(std::chrono::seconds(prune.backoff()), kMaxPeerBackoff)
                : m_options.prune_backoff;
        add_backoff(peer, topic, backoff, now);
        if (prune.peers_size() == 0 || score < m_options.thresholds.accept_px) continue;
        // Peer exchange: dial up to prune_peers of the offered peers we are not connected to.
        std::vector<const pb::PeerInfo*> offered;
        for (const auto& info : prune.peers()) offered.push_back(&info);
        std::shuffle(offered.begin(), offered.end(), m_rng);
        if (offered.size() > m_options.prune_peers) offered.resize(m_options.prune_peers);
        for (const auto* info : offered) {
            auto id = PeerId::from_bytes(as_bytes(info->peerid()));
            if (!id || id.value() == m_self || m_peers.contains(id.value())) continue;
            m_out.connects.push_back(
                Connect{std::move(id).value(),
                        Bytes(info->signedpeerrecord().begin(), info->signedpeerrecord().end())});
        }
    }
}

void Router::send_graft(const PeerId& peer, const std::string& topic) {
    PeerState* state = find_peer(peer);
    if (!state) return;
    Pending& p = pending(peer, *state);
    p.control.add_graft()->set_topicid(topic);
    p.has_control = true;
}

void Router::send_prune(const PeerId& peer, const std::string& topic, bool do_px,
                        bool unsubscribe) {
    PeerState* state = find_peer(peer);
    if (!state) return;
    Pending& p = pending(peer, *state);
    p.has_control = true;
    auto* prune = p.control.add_prune();
    prune->set_topicid(topic);
    if (state->protocol == Protocol::v10) return;  // 1.0 has neither backoff nor PX
    prune->set_backoff(
        seconds_of(unsubscribe ? m_options.unsubscribe_backoff : m_options.prune_backoff));
    if (!do_px) return;
    auto px = select_peers(topic, m_options.prune_peers, [&](const PeerId& candidate) {
        return candidate != peer && m_score.score(candidate) >= 0;
    });
    for (const auto& candidate : px) {
        auto* info = prune->add_peers();
        info->set_peerid(peer_bytes(candidate));
        const Bytes* record = m_record_lookup ? m_record_lookup(candidate) : nullptr;
        if (record) info->set_signedpeerrecord(record->data(), record->size());
    }
}

void Router::add_backoff(const PeerId& peer, const std::string& topic, Duration backoff, Time now) {
    Time& expiry = m_backoff[topic][peer];
    expiry = std::max(expiry, now + backoff);
}

bool Router::backing_off(const PeerId& peer, const std::string& topic) const {
    // Entries live on for a heartbeat of slack after expiry (js BACKOFF_SLACK), so we never
    // graft a peer that still counts us as backing off because its clock runs behind.
    const auto b = m_backoff.find(topic);
    return b != m_backoff.end() && b->second.contains(peer);
}

bool Router::in_backoff(const PeerId& peer, const std::string& topic, Time now) const {
    const auto b = m_backoff.find(topic);
    if (b == m_backoff.end()) return false;
    const auto e = b->second.find(peer);
    return e != b->second.end() && now < e->second;
}

template <class Filter>
std::vector<PeerId> Router::select_peers(const std::string& topic, std::size_t count,
                                         Filter&& filter) {
    std::vector<PeerId> out;
    const auto t = m_topics.find(topic);
    if (t == m_topics.end()) return out;
    for (const auto& p : t->second) {
        if (filter(p)) out.push_back(p);
    }
    std::shuffle(out.begin(), out.end(), m_rng);
    if (out.size() > count) out.resize(count);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Publishing and forwarding

void Router::forward(const detail::CachedMessagePtr& message, const PeerId& source,
                     const PeerId& author, bool own, Time now) {
    const std::string& topic = message->topic;
    const auto t = m_topics.find(topic);
    if (t == m_topics.end()) return;
    auto enqueue = [&](const PeerId& p) {
        if (p == source || p == author) return;
        if (PeerState* state = find_peer(p)) pending(p, *state).messages.push_back(message);
    };
    if (own && m_options.flood_publish) {
        for (const auto& p : t->second) {
            if (m_score.score(p) >= m_options.thresholds.publish) enqueue(p);
        }
        return;
    }
    if (const auto mesh = m_mesh.find(topic); mesh != m_mesh.end()) {
        for (const auto& p : mesh->second) enqueue(p);
        return;
    }
    // Not subscribed: publish through the fanout, creating it on first use.
    auto& fanout = m_fanout[topic];
    if (fanout.empty()) {
        for (auto& p : select_peers(topic, m_options.d, [&](const PeerId& p) {
                 return m_score.score(p) >= m_options.thresholds.publish;
             })) {
            fanout.insert(std::move(p));
        }
    }
    m_last_publish[topic] = now;
    for (const auto& p : fanout) enqueue(p);
}

Result<Actions> Router::publish(const std::string& topic, ByteSpan data, Time now) {
    m_now = now;
    if (topic.size() > m_options.max_topic_length) return Errc::topic_too_long;
    pb::Message message =
        make_signed_message(m_key, m_self, topic, data, m_seqno, m_options.sign_include_key);
    auto cached = std::make_shared<detail::CachedMessage>();
    cached->raw = message.SerializeAsString();
    // An RPC carrying only this message: publish tag, length prefix, body.
    if (1 + varint_size(cached->raw.size()) + cached->raw.size() > m_options.max_rpc_size) {
        return Errc::message_too_large;
    }
    ++m_seqno;
    cached->id = message_id(message);
    cached->topic = topic;
    detail::SeenRecord record;
    record.validated = now;
    m_seen.insert(cached->id, std::move(record), now);
    m_mcache.put(cached);
    ++m_stats.published;
    forward(cached, m_self, m_self, true, now);
    if (m_options.deliver_own && m_subscriptions.contains(topic)) {
        m_out.deliveries.push_back(Delivery{
            topic, Bytes(data.begin(), data.end()), m_self, m_seqno - 1, cached->id, m_self,
            Bytes(message.signature().begin(), message.signature().end()), nullptr});
    }
    if (debug_on()) log().debug("published topic={} bytes={}", topic, data.size());
    return flush();
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

Actions Router::subscribe(const std::string& topic, Time now) {
    m_now = now;
    if (!m_subscriptions.insert(topic).second) return flush();
    for (auto& [peer, state] : m_peers) {
        pending(peer, *state).subscriptions.emplace_back(true, topic);
    }
    // Join: start from the fanout if we were publishing to the topic, then top up to D.
    PeerSet mesh;
    if (const auto f = m_fanout.find(topic); f != m_fanout.end()) {
        for (const auto& p : f->second) {
            if (m_score.score(p) >= 0 && !backing_off(p, topic)) mesh.insert(p);
        }
        m_fanout.erase(f);
        m_last_publish.erase(topic);
    }
    if (mesh.size() < m_options.d) {
        for (auto& p : select_peers(topic, m_options.d - mesh.size(), [&](const PeerId& p) {
                 return !mesh.contains(p) && !backing_off(p, topic) && m_score.score(p) >= 0;
             })) {
            mesh.insert(std::move(p));
        }
    }
    for (const auto& p : mesh) {
        m_score.graft(p, topic, now);
        send_graft(p, topic);
    }
    m_mesh[topic] = std::move(mesh);
    return flush();
}

Actions Router::unsubscribe(const std::string& topic, Time now) {
    m_now = now;
    if (m_subscriptions.erase(topic) == 0) return flush();
    for (auto& [peer, state] : m_peers) {
        pending(peer, *state).subscriptions.emplace_back(false, topic);
    }
    if (const auto mesh = m_mesh.find(topic); mesh != m_mesh.end()) {
        for (const auto& p : mesh->second) {
            m_score.prune(p, topic);
            send_prune(p, topic, m_options.do_px, true);
            // Do not re-graft it eagerly if we rejoin before its backoff ends.
            add_backoff(p, topic, m_options.unsubscribe_backoff, now);
        }
        m_mesh.erase(mesh);
    }
    return flush();
}

void Router::set_validator(const std::string& topic, Validator validator) {
    if (validator) {
        m_validators[topic] = std::move(validator);
    } else {
        m_validators.erase(topic);
    }
}

void Router::set_app_score(const PeerId& peer, double score) { m_score.set_app_score(peer, score); }

// ---------------------------------------------------------------------------------------------
// Heartbeat

void Router::maintain_mesh(const std::string& topic, PeerSet& mesh, Time now) {
    const Options& o = m_options;
    PeerMap<double> scores;
    auto score_of = [&](const PeerId& p) {
        const auto [it, fresh] = scores.try_emplace(p, 0.0);
        if (fresh) it->second = m_score.score(p);
        return it->second;
    };
    auto is_outbound = [&](const PeerId& p) {
        const auto it = m_peers.find(p);
        return it != m_peers.end() && it->second->outbound;
    };
    auto prune = [&](const PeerId& p, bool px) {
        m_score.prune(p, topic);
        add_backoff(p, topic, o.prune_backoff, now);
        send_prune(p, topic, px && o.do_px, false);
    };
    auto graft = [&](std::vector<PeerId> peers) {
        for (auto& p : peers) {
            m_score.graft(p, topic, now);
            send_graft(p, topic);
            mesh.insert(std::move(p));
        }
    };

    // Negative scores leave the mesh, without PX.
    for (auto it = mesh.begin(); it != mesh.end();) {
        if (score_of(*it) < 0) {
            prune(*it, false);
            it = mesh.erase(it);
        } else {
            ++it;
        }
    }
    if (mesh.size() < o.d_lo) {
        graft(select_peers(topic, o.d - mesh.size(), [&](const PeerId& p) {
            return !mesh.contains(p) && !backing_off(p, topic) && score_of(p) >= 0;
        }));
    }
    if (mesh.size() > o.d_hi) {
        std::vector<PeerId> peers(mesh.begin(), mesh.end());
        std::shuffle(peers.begin(), peers.end(), m_rng);
        std::stable_sort(peers.begin(), peers.end(), [&](const PeerId& a, const PeerId& b) {
            return score_of(a) > score_of(b);
        });
        // Keep the best D_score, then random others up to D, with at least D_out outbound.
        const std::size_t keep_best = std::min(o.d_score, peers.size());
        std::shuffle(peers.begin() + static_cast<std::ptrdiff_t>(keep_best), peers.end(), m_rng);
        std::size_t outbound = 0;
        for (std::size_t i = 0; i < o.d; ++i) outbound += is_outbound(peers[i]) ? 1 : 0;
        if (outbound < o.d_out) {
            auto rotate_to_front = [&](std::size_t i) {
                std::rotate(peers.begin(), peers.begin() + static_cast<std::ptrdiff_t>(i),
                            peers.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            };
            std::size_t have = outbound;
            for (std::size_t i = 1; i < o.d && have > 0; ++i) {
                if (is_outbound(peers[i])) {
                    rotate_to_front(i);
                    --have;
                }
            }
            std::size_t need = o.d_out - outbound;
            for (std::size_t i = o.d; i < peers.size() && need > 0; ++i) {
                if (is_outbound(peers[i])) {
                    rotate_to_front(i);
                    --need;
                }
            }
        }
        for (std::size_t i = o.d; i < peers.size(); ++i) {
            prune(peers[i], true);
            mesh.erase(peers[i]);
        }
    }
    if (mesh.size() >= o.d_lo) {
        std::size_t outbound = 0;
        for (const auto& p : mesh) outbound += is_outbound(p) ? 1 : 0;
        if (outbound < o.d_out) {
            graft(select_peers(topic, o.d_out - outbound, [&](const PeerId& p) {
                return !mesh.contains(p) && !backing_off(p, topic) && is_outbound(p) &&
                       score_of(p) >= 0;
            }));
        }
    }
    if (o.opportunistic_graft_ticks > 0 && m_heartbeat_ticks % o.opportunistic_graft_ticks == 0 &&
        mesh.size() > 1) {
        std::vector<double> s;
        for (const auto& p : mesh) s.push_back(score_of(p));
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2), s.end());
        const double median = s[s.size() / 2];
        if (median < m_options.thresholds.opportunistic_graft) {
            graft(select_peers(topic, o.opportunistic_graft_peers, [&](const PeerId& p) {
                return !mesh.contains(p) && !backing_off(p, topic) && score_of(p) > median;
            }));
        }
    }
}

void Router::emit_gossip(const std::string& topic, const PeerSet& exclude) {
    std::vector<MessageId> ids;
    m_mcache.gossip_ids(topic, ids);
    if (ids.empty()) return;
    std::shuffle(ids.begin(), ids.end(), m_rng);
    const auto t = m_topics.find(topic);
    if (t == m_topics.end()) return;
    std::vector<PeerId> candidates;
    for (const auto& p : t->second) {
        if (!exclude.contains(p) && m_score.score(p) >= m_options.thresholds.gossip) {
            candidates.push_back(p);
        }
    }
    // max(D_lazy, gossip_factor × candidates), at random.
    std::size_t target = std::max<std::size_t>(
        m_options.d_lazy,
        static_cast<std::size_t>(m_options.gossip_factor * static_cast<double>(candidates.size())));
    if (target < candidates.size()) {
        std::shuffle(candidates.begin(), candidates.end(), m_rng);
        candidates.resize(target);
    }
    for (const auto& p : candidates) {
        PeerState* state = find_peer(p);
        if (!state) continue;
        if (ids.size() > m_options.max_ihave_length) {
            // A different random subset per peer.
            std::shuffle(ids.begin(), ids.end(), m_rng);
        }
        Pending& pend = pending(p, *state);
        auto* ihave = pend.control.add_ihave();
        pend.has_control = true;
        ihave->set_topicid(topic);
        const std::size_t n = std::min(ids.size(), m_options.max_ihave_length);
        for (std::size_t i = 0; i < n; ++i) ihave->add_messageids(ids[i]);
    }
}

Actions Router::heartbeat(Time now) {
    m_now = now;
    ++m_heartbeat_ticks;
    m_score.refresh(now);
    m_seen.expire(now);

    // Backoffs expire a heartbeat of slack after their deadline.
    const Duration slack = m_options.heartbeat_interval;
    for (auto b = m_backoff.begin(); b != m_backoff.end();) {
        std::erase_if(b->second, [&](const auto& e) { return e.second + slack < now; });
        b = b->second.empty() ? m_backoff.erase(b) : std::next(b);
    }
    for (auto& [peer, state] : m_peers) {
        state->ihave_received = 0;
        state->iasked = 0;
    }
    // Broken IWANT promises cost P7.
    for (auto it = m_promises.begin(); it != m_promises.end();) {
        auto& list = it->second;
        std::erase_if(list, [&](const auto& promise) {
            if (promise.second > now) return false;
            m_score.add_penalty(promise.first, 1);
            if (debug_on())
                log().debug("broken IWANT promise peer={}", promise.first.short_string());
            return true;
        });
        it = list.empty() ? m_promises.erase(it) : std::next(it);
    }
    std::erase_if(m_iwant_pending, [&](const auto& e) { return e.second <= now; });

    for (auto& [topic, mesh] : m_mesh) {
        maintain_mesh(topic, mesh, now);
        emit_gossip(topic, mesh);
    }
    for (auto it = m_last_publish.begin(); it != m_last_publish.end();) {
        if (it->second + m_options.fanout_ttl < now) {
            m_fanout.erase(it->first);
            it = m_last_publish.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& entry : m_fanout) {
        // Named references, not a structured binding: the lambdas below capture them.
        const std::string& topic = entry.first;
        PeerSet& fanout = entry.second;
        const auto t = m_topics.find(topic);
        std::erase_if(fanout, [&](const PeerId& p) {
            return t == m_topics.end() || !t->second.contains(p) ||
                   m_score.score(p) < m_options.thresholds.publish;
        });
        if (fanout.size() < m_options.d) {
            for (auto& p : select_peers(topic, m_options.d - fanout.size(), [&](const PeerId& p) {
                     return !fanout.contains(p) && m_score.score(p) >= m_options.thresholds.publish;
                 })) {
                fanout.insert(std::move(p));
            }
        }
        emit_gossip(topic, fanout);
    }
    m_mcache.shift();
    return flush();
}

// ---------------------------------------------------------------------------------------------
// Introspection

std::vector<PeerId> Router::mesh_peers(const std::string& topic) const {
    const auto it = m_mesh.find(topic);
    return it == m_mesh.end() ? std::vector<PeerId>{}
                              : std::vector<PeerId>(it->second.begin(), it->second.end());
}

std::size_t Router::mesh_topics(const PeerId& peer) const {
    return static_cast<std::size_t>(
        std::count_if(m_mesh.begin(), m_mesh.end(),
                      [&](const auto& entry) { return entry.second.contains(peer); }));
}

std::vector<PeerId> Router::fanout_peers(const std::string& topic) const {
    const auto it = m_fanout.find(topic);
    return it == m_fanout.end() ? std::vector<PeerId>{}
                                : std::vector<PeerId>(it->second.begin(), it->second.end());
}

std::vector<PeerId> Router::topic_peers(const std::string& topic) const {
    const auto it = m_topics.find(topic);
    return it == m_topics.end() ? std::vector<PeerId>{}
                                : std::vector<PeerId>(it->second.begin(), it->second.end());
}

std::size_t Router::pending_promises() const noexcept {
    std::size_t n = 0;
    for (const auto& [id, list] : m_promises) n += list.size();
    return n;
}

}  // namespace swarmd::net::gossipsub
