#include "node/ops/status_message.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/endian.hpp"

namespace swarmd::node {
using json = nlohmann::json;

namespace {

const char* describe(StatusErrc e) noexcept {
    switch (e) {
        case StatusErrc::too_large:
            return "status message too large";
        case StatusErrc::not_json:
            return "status message is not a JSON object";
        case StatusErrc::unknown_type:
            return "unknown status message type";
        case StatusErrc::unknown_field:
            return "status message has an unknown field";
        case StatusErrc::bad_field:
            return "status message field of the wrong type or size";
        case StatusErrc::bad_order_signature:
            return "merge order signature does not verify";
    }
    return nullptr;
}

Bytes order_payload(ByteSpan swarm_id, std::uint64_t round) {
    Bytes out;
    out.reserve(kMergeOrderDomain.size() + swarm_id.size() + 8);
    for (char c : kMergeOrderDomain) out.push_back(static_cast<std::uint8_t>(c));
    out.insert(out.end(), swarm_id.begin(), swarm_id.end());
    append_be(out, round);
    return out;
}

json order_json(const MergeOrder& o) {
    return {{"merge_round", o.round},
            {"operator", o.signer.to_base58()},
            {"signature", hex_encode(o.signature)}};
}

// Field readers: each fails the whole message on a present field of the wrong shape.
class Reader {
  public:
    explicit Reader(const json& j) : m_j(j) {}

    bool ok() const { return !m_failed; }

    bool has(const char* key) const { return m_j.contains(key); }

    std::uint64_t u64(const char* key) {
        auto it = m_j.find(key);
        if (it == m_j.end()) return 0;
        if (!it->is_number_unsigned()) return fail(0);
        return it->get<std::uint64_t>();
    }
    double number(const char* key, double fallback) {
        auto it = m_j.find(key);
        if (it == m_j.end()) return fallback;
        if (!it->is_number()) return fail(fallback);
        return finite_or(it->get<double>(), fallback);
    }
    std::string text(const char* key, std::size_t max = kMaxStatusText) {
        auto it = m_j.find(key);
        if (it == m_j.end()) return {};
        if (!it->is_string() || it->get_ref<const std::string&>().size() > max)
            return fail(std::string());
        return it->get<std::string>();
    }
    // "" or 64 hex digits.
    std::optional<crypto::Digest> digest(const char* key) {
        auto t = text(key, 64);
        if (t.empty()) return std::nullopt;
        auto d = parse_digest(t);
        if (!d) m_failed = true;
        return d;
    }
    std::optional<crypto::PeerId> peer(const json& j) {
        if (!j.is_string() || j.get_ref<const std::string&>().size() > 128)
            return fail(std::nullopt);
        auto id = crypto::PeerId::parse(j.get<std::string>());
        if (!id || !id.value().public_key()) return fail(std::nullopt);
        return id.value();
    }
    const json* array(const char* key, std::size_t max) {
        auto it = m_j.find(key);
        if (it == m_j.end()) return nullptr;
        if (!it->is_array() || it->size() > max) return fail(nullptr);
        return &*it;
    }
    const json* object(const char* key) {
        auto it = m_j.find(key);
        if (it == m_j.end()) return nullptr;
        if (!it->is_object()) return fail(nullptr);
        return &*it;
    }

    static std::optional<crypto::Digest> parse_digest(const std::string& t) {
        auto bytes = hex_decode(t);
        if (!bytes || bytes.value().size() != 32) return std::nullopt;
        crypto::Digest d{};
        std::copy(bytes.value().begin(), bytes.value().end(), d.begin());
        return d;
    }

    template <class T>
    T fail(T value) {
        m_failed = true;
        return value;
    }

  private:
    const json& m_j;
    bool m_failed = false;
};

bool only_keys(const json& j, std::initializer_list<std::string_view> keys) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) return false;
    }
    return true;
}

Result<MergeOrder> read_order(const json& j, ByteSpan swarm_id) {
    if (!j.is_object()) return StatusErrc::bad_field;
    if (!only_keys(j, {"type", "merge_round", "operator", "signature"}))
        return StatusErrc::unknown_field;
    Reader r(j);
    MergeOrder o;
    o.round = r.u64("merge_round");
    auto signer = j.contains("operator") ? r.peer(j["operator"]) : std::nullopt;
    const auto sig = r.text("signature", 2 * o.signature.size());
    if (!r.ok() || !signer || o.round == 0) return StatusErrc::bad_field;
    auto bytes = hex_decode(sig);
    if (!bytes || bytes.value().size() != o.signature.size()) return StatusErrc::bad_field;
    std::copy(bytes.value().begin(), bytes.value().end(), o.signature.begin());
    o.signer = *signer;
    if (!o.verify(swarm_id)) return StatusErrc::bad_order_signature;
    return o;
}

Result<Heartbeat> read_heartbeat(const json& j, ByteSpan swarm_id) {
    if (!only_keys(j, {"type", "role", "round", "merge_round", "checkpoints", "merge_state",
                       "merged_hash", "accuracy", "peers", "version", "merge_order", "policy",
                       "reward", "base_hash", "base_parameters", "commit", "merged_from"})) {
        return StatusErrc::unknown_field;
    }
    Reader r(j);
    Heartbeat b;
    const auto role = r.text("role");
    if (role != "trainer" && role != "relay") return StatusErrc::bad_field;
    b.trainer = role == "trainer";
    b.round = r.u64("round");
    b.merge_round = r.u64("merge_round");
    b.merge_state = r.text("merge_state");
    b.merged_hash = r.digest("merged_hash");
    b.accuracy = r.number("accuracy", -1.0);
    b.peers = r.u64("peers");
    b.version = r.text("version");
    b.policy = r.text("policy");
    b.reward = r.number("reward", -1.0);
    b.base_hash = r.digest("base_hash");
    b.base_parameters = r.u64("base_parameters");
    if (const auto* c = r.array("checkpoints", kMaxAnnouncedCheckpoints)) {
        for (const auto& e : *c) {
            if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_string()) {
                return StatusErrc::bad_field;
            }
            auto d = Reader::parse_digest(e[1].get<std::string>());
            if (!d) return StatusErrc::bad_field;
            b.checkpoints.emplace_back(e[0].get<std::uint64_t>(), *d);
        }
    }
    if (const auto* c = r.object("commit")) {
        if (!only_keys(*c, {"hash", "round", "parameters"})) return StatusErrc::unknown_field;
        Reader cr(*c);
        BeatCommit commit;
        auto hash = cr.digest("hash");
        commit.round = cr.u64("round");
        commit.parameters = cr.u64("parameters");
        if (!cr.ok() || !hash) return StatusErrc::bad_field;
        commit.hash = *hash;
        b.commit = commit;
    }
    if (const auto* m = r.array("merged_from", kMaxMergedFromInBeat)) {
        for (const auto& e : *m) {
            auto id = r.peer(e);
            if (!id) return StatusErrc::bad_field;
            b.merged_from.push_back(*id);
        }
    }
    if (const auto* o = r.object("merge_order")) {
        BOOST_OUTCOME_TRY(order, read_order(*o, swarm_id));
        b.order = order;
    }
    if (!r.ok()) return StatusErrc::bad_field;
    return b;
}

}  // namespace

const std::error_category& status_category() noexcept {
    static const EnumCategory<StatusErrc> category("swarmd.status", describe);
    return category;
}

MergeOrder MergeOrder::sign(const crypto::PrivateKey& key, ByteSpan swarm_id, std::uint64_t round) {
    MergeOrder o;
    o.round = round;
    o.signer = crypto::PeerId::from_public_key(key.public_key());
    o.signature = key.sign(order_payload(swarm_id, round));
    return o;
}

bool MergeOrder::verify(ByteSpan swarm_id) const {
    const auto key = signer.public_key();
    return key && key->verify(order_payload(swarm_id, round), signature);
}

namespace {

json heartbeat_json(const Heartbeat& b) {
    json out = json::object();
    out["role"] = b.trainer ? "trainer" : "relay";
    out["round"] = b.round;
    out["merge_round"] = b.merge_round;
    out["checkpoints"] = checkpoints_json(b.checkpoints);
    out["merge_state"] = b.merge_state;
    out["merged_hash"] = b.merged_hash ? hex_encode(*b.merged_hash) : "";
    out["accuracy"] = finite_or(b.accuracy, -1.0);
    out["peers"] = b.peers;
    out["version"] = b.version;
    if (b.order) out["merge_order"] = order_json(*b.order);
    if (!b.policy.empty()) {
        out["policy"] = b.policy;
        out["reward"] = finite_or(b.reward, -1.0);
        out["base_hash"] = b.base_hash ? hex_encode(*b.base_hash) : "";
        out["base_parameters"] = b.base_parameters;
        if (b.commit) {
            out["commit"] = {{"hash", hex_encode(b.commit->hash)},
                             {"round", b.commit->round},
                             {"parameters", b.commit->parameters}};
        }
        json from = json::array();
        for (const auto& p : b.merged_from) from.push_back(p.to_base58());
        if (!from.empty()) out["merged_from"] = std::move(from);
    }
    return out;
}

Bytes to_bytes(const json& j) {
    const auto text = j.dump();
    return Bytes(text.begin(), text.end());
}

}  // namespace

Bytes encode_status(const Heartbeat& beat) {
    json j = heartbeat_json(beat);
    j["type"] = "status";
    return to_bytes(j);
}

Bytes encode_status(const MergeOrder& order) {
    json j = order_json(order);
    j["type"] = "merge_request";
    return to_bytes(j);
}

Result<StatusMessage> decode_status(ByteSpan bytes, ByteSpan swarm_id) {
    if (bytes.size() > kMaxStatusMessage) return StatusErrc::too_large;
    auto j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (!j.is_object()) return StatusErrc::not_json;
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return StatusErrc::unknown_type;
    if (*type == "status") {
        BOOST_OUTCOME_TRY(beat, read_heartbeat(j, swarm_id));
        return StatusMessage{std::move(beat)};
    }
    if (*type == "merge_request") {
        BOOST_OUTCOME_TRY(order, read_order(j, swarm_id));
        return StatusMessage{std::move(order)};
    }
    return StatusErrc::unknown_type;
}

json checkpoints_json(const std::vector<std::pair<std::uint64_t, crypto::Digest>>& checkpoints) {
    json out = json::array();
    for (const auto& [round, hash] : checkpoints) out.push_back({round, hex_encode(hash)});
    return out;
}

double finite_or(double v, double fallback) { return std::isfinite(v) ? v : fallback; }

void add_heartbeat_fields(const Heartbeat& beat, json& out) { out.update(heartbeat_json(beat)); }

}  // namespace swarmd::node
