#pragma once
// Circuit relay v2 on a Host: drives the sans-I/O core (net/relay.hpp) over
// /libp2p/circuit/relay/0.2.0/hop and /stop streams.
//
// Server (enable_server()): answers RESERVE with a voucher and our addresses; for CONNECT it opens
// a stop stream to the target over the target's own connection, then pipes bytes both ways within
// the circuit's limits (duration and bytes per direction), resetting both streams when one is hit.
// A reservation ends when it expires or when the peer disconnects (feed on_connection_closed).
//
// Client (always on): reserve() on a relay and renew at 3/4 of the reservation's life, our
// /p2p-circuit addresses, stop streams from relays we reserved on upgraded to connections, and
// dial() through <relay>/p2p/<relay id>/p2p-circuit/p2p/<target>. The service registers itself as
// the host's circuit dialer, so Host::dial() takes circuit addresses too.
//
// After STATUS the hop or stop stream carries the relayed connection's bytes, so each side reads
// exactly one length-prefixed message (Stream::read_length_prefixed reads no byte past it).
//
// One io_context thread owns the service. Create it with std::make_shared (its coroutines keep
// it alive), call start() once and stop() before the host goes away.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/multiaddr.hpp"
#include "net/relay.hpp"

namespace swarmd::net {

class Host;
class Connection;
class Stream;

struct RelayServiceOptions {
    static constexpr std::chrono::seconds kDefaultRequestTimeout{10};
    static constexpr std::chrono::seconds kDefaultRetryInterval{30};
    static constexpr std::size_t kDefaultPipeChunk = 16 * 1024;

    relay::ServerOptions server;
    relay::Limits limits;
    // One hop or stop exchange, up to its STATUS.
    std::chrono::steady_clock::duration request_timeout = kDefaultRequestTimeout;
    // A failed renewal is tried again after this (until the reservation lapses).
    std::chrono::steady_clock::duration retry_interval = kDefaultRetryInterval;
    std::size_t pipe_chunk = kDefaultPipeChunk;
    // The addresses a reservation names for us as relay; the host's listen addresses when empty
    // (the node passes its observed or external ones here).
    std::function<std::vector<Multiaddr>()> advertised_addrs;
    std::function<relay::Time()> clock = [] { return std::chrono::system_clock::now(); };
};

class RelayService : public std::enable_shared_from_this<RelayService> {
  public:
    RelayService(boost::asio::any_io_executor executor, Host& host, crypto::PrivateKey identity,
                 RelayServiceOptions options = {});
    RelayService(const RelayService&) = delete;
    RelayService& operator=(const RelayService&) = delete;
    ~RelayService();

    // Registers the stop handler and the host's circuit dialer.
    void start();
    // Serves the hop protocol (registers its handler, so identify lists it from then on).
    void enable_server();
    // Ends the renewals; open circuits end with their connections.
    void stop();

    // Dials `relay_addr` (with /p2p/<relay id>) and reserves a slot; renewed until stop(). The
    // relay's refusal comes back as its relay::Status.
    boost::asio::awaitable<Result<relay::Granted>> reserve(Multiaddr relay_addr);
    // Our addresses through every relay we hold a reservation on (…/p2p/<relay>/p2p-circuit).
    std::vector<Multiaddr> circuit_addrs() const;
    bool has_reservation(const crypto::PeerId& relay) const;
    // The reservation held on `relay`, as last granted.
    const relay::Granted* reservation(const crypto::PeerId& relay) const;

    // Connects to the target of a circuit address through its relay; returns the relayed
    // connection (or a direct one the host already had).
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> dial(Multiaddr circuit_addr);

    // Feed of the host's closed connections (the host has a single on_connection_closed slot,
    // which the node owns): a reservation ends with its peer's connection; ours end with the
    // relay's.
    void on_connection_closed(const std::shared_ptr<Connection>& connection);

    const relay::RelayServer& server() const noexcept { return m_server; }

  private:
    struct Held {
        Multiaddr relay_addr;
        relay::Granted granted;
        relay::Time renew_at{};
        std::shared_ptr<boost::asio::steady_timer> renewal;
    };

    boost::asio::awaitable<void> serve_hop(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<void> serve_stop(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<void> refuse_circuit(Stream& source, std::uint64_t circuit,
                                                relay::Status status);
    boost::asio::awaitable<void> connect_circuit(std::shared_ptr<Stream> source,
                                                 std::uint64_t circuit);
    boost::asio::awaitable<void> renew_loop(crypto::PeerId relay,
                                            std::shared_ptr<boost::asio::steady_timer> timer);
    boost::asio::awaitable<Result<relay::Granted>> reserve_once(const Multiaddr& relay_addr,
                                                                const crypto::PeerId& relay);
    std::vector<Multiaddr> relay_addrs() const;
    relay::Time now() const { return m_options.clock(); }

    Host& m_host;
    boost::asio::any_io_executor m_executor;
    RelayServiceOptions m_options;
    relay::RelayServer m_server;
    std::map<crypto::PeerId, Held> m_reservations;
    std::shared_ptr<bool> m_alive;  // false once destroyed: pipes still running stop touching us
    bool m_serving = false;
    bool m_stopped = false;
};

}  // namespace swarmd::net
