#pragma once
// Gossipsub over the host: connects the sans-I/O router (net/gossipsub.hpp) to libp2p streams.
// Per peer it keeps one outbound stream for writing and reads every inbound one, as the pubsub
// spec asks; it runs the heartbeat timer and hands validated messages to topic handlers. Lives on
// the host's io thread.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/gossipsub.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::net {

class Connection;
class Host;
class Stream;
struct IdentifyInfo;

class Pubsub : public std::enable_shared_from_this<Pubsub> {
  public:
    using MessageHandler = std::function<void(const gossipsub::Delivery&)>;
    // A PX peer with the addresses of its verified signed record (PX entries without a valid
    // record are dropped: a bare peer id cannot be dialed).
    using PeerExchangeHandler =
        std::function<void(const crypto::PeerId&, const std::vector<Multiaddr>&)>;

    Pubsub(boost::asio::any_io_executor executor, Host& host, crypto::PrivateKey key,
           gossipsub::Options options = {});

    // Registers the /meshsub stream handlers and starts the heartbeat.
    void start();
    void stop();

    // The daemon forwards the host's events: a peer that speaks gossipsub gets a stream pair.
    void peer_identified(const std::shared_ptr<Connection>& connection, const IdentifyInfo& info);
    void peer_closed(const crypto::PeerId& peer);

    void subscribe(const std::string& topic, MessageHandler handler);
    void unsubscribe(const std::string& topic);
    void set_validator(const std::string& topic, gossipsub::Validator validator);
    Result<void> publish(const std::string& topic, ByteSpan data);
    // Peers offered through PRUNE peer exchange.
    void on_peer_exchange(PeerExchangeHandler handler) { m_on_px = std::move(handler); }

    gossipsub::Router& router() noexcept { return m_router; }
    std::size_t peer_count() const noexcept { return m_links.size(); }

  private:
    // Shared with the link's writer coroutine, which outlives its removal from m_links.
    struct Link {
        explicit Link(boost::asio::any_io_executor ex)
            : wake(ex, boost::asio::steady_timer::time_point::max()) {}
        std::shared_ptr<Stream> out;
        Bytes queue;
        boost::asio::steady_timer wake;
        bool closed = false;
    };

    void ensure_peer(const crypto::PeerId& peer, bool outbound, gossipsub::Protocol protocol,
                     std::string ip);
    void apply(gossipsub::Actions actions);
    boost::asio::awaitable<void> open_outbound(crypto::PeerId peer, std::shared_ptr<Link> link,
                                               gossipsub::Protocol protocol);
    boost::asio::awaitable<void> read_loop(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<void> heartbeat_loop();
    gossipsub::Time now() const;

    boost::asio::any_io_executor m_executor;
    Host& m_host;
    gossipsub::Router m_router;
    std::unordered_map<crypto::PeerId, std::shared_ptr<Link>> m_links;
    // The one inbound stream read per peer: the router keeps one frame decoder per peer, so a
    // second stream (e.g. on a duplicate connection) would interleave frames. Extras are reset.
    std::unordered_map<crypto::PeerId, std::weak_ptr<Stream>> m_inbound;
    std::map<std::string, MessageHandler> m_handlers;
    PeerExchangeHandler m_on_px;
    boost::asio::steady_timer m_heartbeat;
    bool m_stopped = false;
};

}  // namespace swarmd::net
