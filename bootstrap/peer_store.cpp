#include "bootstrap/peer_store.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "bootstrap/error.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr int kFormatVersion = 1;

bool better(const PeerRecord& a, const PeerRecord& b) {
    if (a.failures != b.failures) return a.failures < b.failures;
    return a.last_seen > b.last_seen;
}

}  // namespace

Result<PeerStore> PeerStore::load(const std::filesystem::path& path) {
    PeerStore store;
    Bytes raw;
    if (auto ec = read_file(path, raw, kMaxFileSize)) {
        if (ec == std::errc::no_such_file_or_directory) return store;
        if (ec == std::errc::file_too_large) return Errc::bad_peer_store;
        return ec;
    }
    auto json = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return Errc::bad_peer_store;
    auto version = json.find("version");
    if (version == json.end() || !version->is_number_integer() ||
        version->get<int>() != kFormatVersion) {
        return Errc::bad_peer_store;
    }
    auto peers = json.find("peers");
    if (peers == json.end() || !peers->is_array()) return Errc::bad_peer_store;
    for (const auto& p : *peers) {
        if (!p.is_object()) return Errc::bad_peer_store;
        auto id = p.find("id");
        auto addrs = p.find("addrs");
        auto seen = p.find("last_seen");
        auto failures = p.find("failures");
        if (id == p.end() || !id->is_string() || addrs == p.end() || !addrs->is_array() ||
            seen == p.end() || !seen->is_number_integer() || failures == p.end() ||
            !failures->is_number_unsigned()) {
            return Errc::bad_peer_store;
        }
        PeerRecord record{
            id->get<std::string>(), {}, seen->get<std::int64_t>(), failures->get<std::uint32_t>()};
        for (const auto& a : *addrs) {
            if (!a.is_string()) return Errc::bad_peer_store;
            if (record.addrs.size() < kMaxAddrsPerPeer)
                record.addrs.push_back(a.get<std::string>());
        }
        if (store.m_peers.size() < kMaxPeers) store.m_peers.push_back(std::move(record));
    }
    return store;
}

std::error_code PeerStore::save(const std::filesystem::path& path) const {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : m_peers) {
        peers.push_back({{"id", p.peer_id},
                         {"addrs", p.addrs},
                         {"last_seen", p.last_seen},
                         {"failures", p.failures}});
    }
    nlohmann::json doc = {{"version", kFormatVersion}, {"peers", std::move(peers)}};
    const std::string text = doc.dump(1);
    return write_file_atomic(path, as_bytes(text), 0600);
}

std::vector<PeerRecord>::iterator PeerStore::find(const std::string& peer_id) {
    return std::find_if(m_peers.begin(), m_peers.end(),
                        [&](const PeerRecord& r) { return r.peer_id == peer_id; });
}

void PeerStore::observe(const std::string& peer_id, const std::vector<std::string>& addrs,
                        std::int64_t now) {
    auto it = find(peer_id);
    if (it == m_peers.end()) {
        evict_if_full();
        m_peers.push_back({peer_id, {}, now, 0});
        it = m_peers.end() - 1;
    }
    it->last_seen = now;
    it->failures = 0;
    // The addresses just seen go first; older ones follow until the cap.
    std::vector<std::string> merged;
    for (const auto& a : addrs) {
        if (merged.size() == kMaxAddrsPerPeer) break;
        if (std::find(merged.begin(), merged.end(), a) == merged.end()) merged.push_back(a);
    }
    for (const auto& a : it->addrs) {
        if (merged.size() == kMaxAddrsPerPeer) break;
        if (std::find(merged.begin(), merged.end(), a) == merged.end()) merged.push_back(a);
    }
    it->addrs = std::move(merged);
}

void PeerStore::record_failure(const std::string& peer_id) {
    auto it = find(peer_id);
    if (it == m_peers.end()) return;
    if (++it->failures >= kForgetAfterFailures) m_peers.erase(it);
}

void PeerStore::remove(const std::string& peer_id) {
    auto it = find(peer_id);
    if (it != m_peers.end()) m_peers.erase(it);
}

void PeerStore::evict_if_full() {
    if (m_peers.size() < kMaxPeers) return;
    auto worst = std::max_element(m_peers.begin(), m_peers.end(), better);
    m_peers.erase(worst);
}

std::vector<PeerRecord> PeerStore::candidates(std::size_t n) const {
    std::vector<PeerRecord> out = m_peers;
    std::stable_sort(out.begin(), out.end(), better);
    if (out.size() > n) out.resize(n);
    return out;
}

}  // namespace swarmd::bootstrap
