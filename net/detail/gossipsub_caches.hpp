#pragma once
// The router's two bounded caches: the seen cache (message id -> delivery record, TTL-expired,
// capped in entries) and the message cache (the last mcache_len heartbeat windows of forwarded
// messages, for IWANT answers and IHAVE gossip, capped in bytes).
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/peer_id.hpp"
#include "net/gossipsub_message.hpp"
#include "net/gossipsub_score.hpp"

namespace swarmd::net::gossipsub::detail {

enum class DeliveryStatus : std::uint8_t { valid, invalid, ignored };

struct SeenRecord {
    DeliveryStatus status = DeliveryStatus::valid;
    Time validated{};
    // Serial numbers of the peers that delivered it, each counted once in the score; capped,
    // since only mesh peers inside the delivery window matter.
    std::vector<std::uint64_t> peers;
};

class SeenCache {
public:
    SeenCache(Duration ttl, std::size_t max_entries) : m_ttl(ttl), m_max(max_entries) {}

    SeenRecord* find(const MessageId& id) {
        const auto it = m_map.find(id);
        return it == m_map.end() ? nullptr : &it->second;
    }
    // Inserts a new record; when full, the oldest entry is dropped early.
    SeenRecord& insert(const MessageId& id, SeenRecord record, Time now) {
        if (m_map.size() >= m_max && !m_order.empty()) {
            m_map.erase(m_order.front().second);
            m_order.pop_front();
        }
        auto [it, inserted] = m_map.try_emplace(id, std::move(record));
        if (inserted) m_order.emplace_back(now + m_ttl, id);
        return it->second;
    }
    void expire(Time now) {
        while (!m_order.empty() && m_order.front().first <= now) {
            m_map.erase(m_order.front().second);
            m_order.pop_front();
        }
    }
    std::size_t size() const noexcept { return m_map.size(); }

private:
    Duration m_ttl;
    std::size_t m_max;
    std::unordered_map<MessageId, SeenRecord> m_map;
    std::deque<std::pair<Time, MessageId>> m_order;  // insertion order = expiry order
};

// A validated message as forwarded: the serialized Message is kept so forwarding and IWANT
// answers never re-encode it.
struct CachedMessage {
    MessageId id;
    std::string topic;
    std::string raw;  // serialized pb::Message
};
using CachedMessagePtr = std::shared_ptr<const CachedMessage>;

class MessageCache {
public:
    MessageCache(std::size_t history, std::size_t gossip, std::size_t max_bytes)
        : m_windows(history == 0 ? 1 : history), m_gossip(gossip), m_max_bytes(max_bytes) {}

    // Returns false (message not cached, so not gossiped) when the byte cap is reached.
    bool put(CachedMessagePtr message) {
        if (m_bytes + message->raw.size() > m_max_bytes) return false;
        auto [it, inserted] = m_entries.try_emplace(message->id);
        if (!inserted) return true;
        m_bytes += message->raw.size();
        it->second.message = message;
        m_windows.front().push_back(std::move(message));
        return true;
    }
    const CachedMessage* get(const MessageId& id) const {
        const auto it = m_entries.find(id);
        return it == m_entries.end() ? nullptr : it->second.message.get();
    }
    // The message and how many times it has now been sent to this peer through IWANT.
    std::pair<CachedMessagePtr, unsigned> get_for_peer(const MessageId& id, std::uint64_t peer) {
        const auto it = m_entries.find(id);
        if (it == m_entries.end()) return {nullptr, 0};
        for (auto& [p, count] : it->second.transmissions) {
            if (p == peer) return {it->second.message, ++count};
        }
        it->second.transmissions.emplace_back(peer, 1);
        return {it->second.message, 1};
    }
    // Ids of the topic's messages in the most recent `gossip` windows.
    void gossip_ids(const std::string& topic, std::vector<MessageId>& out) const {
        for (std::size_t w = 0; w < m_gossip && w < m_windows.size(); ++w) {
            for (const auto& m : m_windows[w]) {
                if (m->topic == topic) out.push_back(m->id);
            }
        }
    }
    bool has_gossip(const std::string& topic) const {
        for (std::size_t w = 0; w < m_gossip && w < m_windows.size(); ++w) {
            for (const auto& m : m_windows[w]) {
                if (m->topic == topic) return true;
            }
        }
        return false;
    }
    void shift() {
        for (const auto& m : m_windows.back()) {
            m_bytes -= m->raw.size();
            m_entries.erase(m->id);
        }
        m_windows.pop_back();
        m_windows.emplace_front();
    }
    std::size_t size() const noexcept { return m_entries.size(); }
    std::size_t bytes() const noexcept { return m_bytes; }

private:
    struct Entry {
        CachedMessagePtr message;
        std::vector<std::pair<std::uint64_t, unsigned>> transmissions;
    };
    std::deque<std::vector<CachedMessagePtr>> m_windows;
    std::size_t m_gossip;
    std::size_t m_max_bytes;
    std::size_t m_bytes = 0;
    std::unordered_map<MessageId, Entry> m_entries;
};

}  // namespace swarmd::net::gossipsub::detail
