#pragma once
// The peers a node has met, persisted in its data directory so that a restart rejoins the swarm
// even when every bootstrap peer is gone. Bounded in peers and addresses; written atomically.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace swarmd::bootstrap {

struct PeerRecord {
    std::string peer_id;             // base58
    std::vector<std::string> addrs;  // multiaddrs without /p2p/, newest first
    std::int64_t last_seen = 0;      // unix seconds of the last successful connection
    std::uint32_t failures = 0;      // consecutive failed dials
};

class PeerStore {
  public:
    static constexpr std::size_t kMaxPeers = 1000;
    static constexpr std::size_t kMaxAddrsPerPeer = 8;
    static constexpr std::size_t kMaxFileSize = 1 << 20;
    static constexpr std::uint32_t kForgetAfterFailures = 10;

    // A missing file is an empty store. A malformed one is an error (bad_peer_store).
    static Result<PeerStore> load(const std::filesystem::path& path);
    std::error_code save(const std::filesystem::path& path) const;

    // A successful connection: remembers the addresses and clears the failure count.
    void observe(const std::string& peer_id, const std::vector<std::string>& addrs,
                 std::int64_t now);
    // A failed dial; a peer failing kForgetAfterFailures times in a row is forgotten.
    void record_failure(const std::string& peer_id);
    void remove(const std::string& peer_id);

    // Up to n peers to dial, the most recently seen and least failing first.
    std::vector<PeerRecord> candidates(std::size_t n) const;
    const std::vector<PeerRecord>& peers() const noexcept { return m_peers; }

  private:
    std::vector<PeerRecord>::iterator find(const std::string& peer_id);
    void evict_if_full();

    std::vector<PeerRecord> m_peers;
};

}  // namespace swarmd::bootstrap
