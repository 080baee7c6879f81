#pragma once
// DCUtR on a Host: upgrades a relayed connection to a direct one (net/dcutr.hpp has the
// exchange). The inbound side of a relayed connection drives it: first a plain dial to the
// peer's public addresses (the unilateral upgrade), then up to `attempts` rounds of CONNECT,
// CONNECT, SYNC and Host::punch on one stream. The other side answers each round and punches
// when SYNC arrives. A direct connection then wins over the relayed one (Host's one connection
// per peer), which drains and closes; gossip moves with it.
//
// The host has a single on_identify slot, which the node owns: the owner calls on_identify()
// here with every identify result. One io_context thread owns the service. Create it with
// std::make_shared (its coroutines keep it alive); call stop() before the host goes away.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/result.hpp"
#include "crypto/peer_id.hpp"
#include "net/dcutr.hpp"
#include "net/identify.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"

namespace swarmd::net {

class Connection;
class Host;
class Stream;

struct DcutrServiceOptions {
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kDefaultExchangeTimeout{10};
    static constexpr std::chrono::seconds kDefaultPunchTimeout{5};
    static constexpr int kDefaultAttempts = 3;  // the spec's: the first try and two retries

    dcutr::Limits limits;
    // Prefixes treated as public (off by default): a lab's ranges, or 127.0.0.0/8 in a
    // loopback test. Only public addresses are offered and dialed.
    std::vector<Cidr> treat_as_public;
    // Waiting for the peer's next message; and one punch, dials and upgrade included.
    Clock::duration exchange_timeout = kDefaultExchangeTimeout;
    Clock::duration punch_timeout = kDefaultPunchTimeout;
    int attempts = kDefaultAttempts;
    // Dial the peer's public addresses before punching (the spec's unilateral upgrade).
    bool unilateral = true;
    // Where we may be dialed directly, for our CONNECT: the node's observed and listen
    // addresses. Filtered as dcutr::punch_targets does.
    std::function<std::vector<Multiaddr>()> local_addrs;
};

struct DcutrStats {
    std::uint64_t attempts = 0;             // punch rounds we started (inbound side)
    std::uint64_t answered = 0;             // punch rounds we answered (outbound side)
    std::uint64_t direct_upgrades = 0;      // relayed connections a punch made direct
    std::uint64_t unilateral_upgrades = 0;  // ... that a plain dial made direct
    // Upgrades that ended without a direct connection, by reason (timeout, no_dialable_addrs,
    // protocol, stream).
    std::map<std::string, std::uint64_t> failed_by_reason;
};

class DcutrService : public std::enable_shared_from_this<DcutrService> {
  public:
    DcutrService(boost::asio::any_io_executor executor, Host& host,
                 DcutrServiceOptions options = {});
    DcutrService(const DcutrService&) = delete;
    DcutrService& operator=(const DcutrService&) = delete;

    // Registers /libp2p/dcutr, so identify lists it from then on.
    void start();
    void stop();

    // Feed of the host's identify results: a relayed connection we accepted, from a peer that
    // speaks DCUtR, starts an upgrade.
    void on_identify(const std::shared_ptr<Connection>& connection, const IdentifyInfo& info);
    // Upgrades `relayed` (a relayed connection, ours the inbound end): the direct connection,
    // or why there is none.
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> upgrade(
        std::shared_ptr<Connection> relayed);

    // What our CONNECT offers.
    std::vector<Multiaddr> local_addrs() const;
    bool upgrading(const crypto::PeerId& peer) const { return m_upgrading.contains(peer); }
    const DcutrStats& stats() const noexcept { return m_stats; }

  private:
    boost::asio::awaitable<void> answer(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> punch_rounds(
        std::shared_ptr<Connection> relayed);
    boost::asio::awaitable<Result<dcutr::HolePunch>> read_message(Stream& stream);
    boost::asio::awaitable<Result<void>> write_message(Stream& stream, dcutr::Type type);
    void count_failure(std::error_code reason);

    boost::asio::any_io_executor m_executor;
    Host& m_host;
    DcutrServiceOptions m_options;
    AddressPolicy m_policy;
    std::set<crypto::PeerId> m_upgrading;
    DcutrStats m_stats;
    bool m_stopped = false;
};

}  // namespace swarmd::net
