#pragma once
// The libp2p host: listens on and dials TCP multiaddrs, upgrades every connection
// (multistream /noise, Noise XX, multistream /yamux/1.0.0, yamux), negotiates protocol streams by
// id against a handler registry, answers identify and ping, and identifies every new connection.
// It manages connections with limits (connection count, streams per connection, message sizes),
// deadlines on every phase, dial backoff and graceful close.
//
// One io_context thread owns the host and everything in it: no locks. The host must outlive the
// io_context's run() (call stop() first to close its sockets).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/connection.hpp"
#include "net/identify.hpp"
#include "net/multiaddr.hpp"
#include "net/noise.hpp"
#include "net/peer_record.hpp"
#include "net/stream.hpp"

namespace swarmd::net {

struct HostOptions {
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kDefaultMaxInbound = 128;
    static constexpr std::size_t kDefaultMaxOutbound = 64;
    static constexpr std::size_t kDefaultMaxInboundPerAddress = 8;
    static constexpr std::size_t kDefaultMaxHandshakesPerAddress = 4;
    static constexpr std::chrono::seconds kDefaultRefusalLogInterval{10};
    static constexpr std::chrono::seconds kDefaultDialTimeout{10};
    static constexpr std::chrono::seconds kDefaultIdentifyTimeout{10};
    static constexpr std::chrono::seconds kDefaultPingTimeout{10};
    static constexpr std::chrono::seconds kDefaultInitialBackoff{1};
    static constexpr std::chrono::seconds kDefaultMaxBackoff{300};
    static constexpr std::chrono::seconds kDefaultDeadPeerTimeout{15};
    // The ping spec's limit on one peer's concurrent inbound ping streams.
    static constexpr std::size_t kDefaultMaxInboundPingStreams = 2;

    // Inbound connections (open and upgrading); further inbound sockets are closed at once.
    std::size_t max_inbound = kDefaultMaxInbound;
    // Outbound connections, counted apart so inbound sockets can never stop this host dialing
    // out; a dial beyond it fails with connection_limit.
    std::size_t max_outbound = kDefaultMaxOutbound;
    // Inbound connections from one IP address, and how many of them may be handshaking at once.
    std::size_t max_inbound_per_address = kDefaultMaxInboundPerAddress;
    std::size_t max_handshakes_per_address = kDefaultMaxHandshakesPerAddress;
    // Loopback is this machine (a local testnet runs every node on 127.0.0.1): the per-address
    // limits skip it unless this is set.
    bool limit_loopback = false;
    // Refused sockets are logged at most once per interval, with a count of those in between.
    Clock::duration refusal_log_interval = kDefaultRefusalLogInterval;
    Clock::duration dial_timeout = kDefaultDialTimeout;
    // A TCP connection whose sent data stays unacknowledged this long, or that answers no
    // keepalive probe over this long while idle, is aborted (TCP_USER_TIMEOUT, SO_KEEPALIVE);
    // zero leaves the kernel's defaults (about 15 minutes).
    Clock::duration dead_peer_timeout = kDefaultDeadPeerTimeout;
    Clock::duration identify_timeout = kDefaultIdentifyTimeout;
    Clock::duration ping_timeout = kDefaultPingTimeout;
    // After a failed dial the address is refused for initial_backoff, doubling per further
    // failure up to max_backoff; a success clears it.
    Clock::duration initial_backoff = kDefaultInitialBackoff;
    Clock::duration max_backoff = kDefaultMaxBackoff;
    // Inbound ping streams one peer may hold open at once (over all its connections); a further
    // one is reset as soon as it is negotiated.
    std::size_t max_inbound_ping_streams = kDefaultMaxInboundPingStreams;
    ConnectionOptions connection;
    std::string agent_version{kAgentVersion};
    // Run identify on every new connection (both directions).
    bool identify_on_connect = true;
    // Dial out from the listen port (SO_REUSEADDR and SO_REUSEPORT on the listener and the
    // dialing socket), as kubo does: a NAT then maps our outbound connections to the same public
    // port, which peers observe and which a hole punch dials. A dial falls back to an ephemeral
    // port when the listen port cannot be used for it (the same peer address already connected
    // from it, or in TIME_WAIT).
    bool dial_from_listen_port = true;
    // Injectable for backoff tests.
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

// What the host refused or closed, and why; exported by the daemon on /metrics.
struct HostStats {
    std::uint64_t refused_inbound_limit = 0;    // max_inbound reached
    std::uint64_t refused_address_limit = 0;    // max_inbound_per_address reached
    std::uint64_t refused_handshake_limit = 0;  // max_handshakes_per_address reached
    std::uint64_t refused_outbound_limit = 0;   // dials beyond max_outbound
    // Authenticated peers off ConnectionOptions::allow_peers, either way.
    std::uint64_t refused_not_allowed = 0;
    // Connections that ended in failure, by reason (peer_not_reading, inbound_budget,
    // too_many_streams, window_exceeded, timeout, private_network, protocol, io).
    std::map<std::string, std::uint64_t> failed_by_reason;
};

// Session bytes over direct and relayed connections, closed ones included (Host::traffic).
struct HostTraffic {
    std::uint64_t direct_sent = 0;
    std::uint64_t direct_received = 0;
    std::uint64_t relayed_sent = 0;
    std::uint64_t relayed_received = 0;
};

using StreamHandler = std::function<boost::asio::awaitable<void>(std::shared_ptr<Stream>)>;

class Host {
  public:
    using Clock = std::chrono::steady_clock;
    using IdentifyHandler =
        std::function<void(const std::shared_ptr<Connection>&, const IdentifyInfo&)>;
    using ConnectionHandler = std::function<void(const std::shared_ptr<Connection>&)>;

    Host(boost::asio::any_io_executor executor, crypto::PrivateKey identity,
         HostOptions options = {});
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;
    ~Host();

    // Binds /ip4|ip6/<ip>/tcp/<port> (port 0 picks one) and starts accepting. Returns the bound
    // address with its /p2p/ id.
    Result<Multiaddr> listen(const Multiaddr& addr);
    // Every bound address, with /p2p/<our id>.
    std::vector<Multiaddr> listen_addrs() const;
    // What identify and our signed peer record tell peers to dial (no /p2p/<our id>): the bound
    // addresses unless an address source is set. The node sets one that knows more (interface
    // addresses for a wildcard listener, observed addresses, /p2p-circuit addresses through
    // relays) and calls refresh_addrs() whenever they may have changed; the record is resealed
    // only when the set did. Returns whether it changed.
    using AddressSource = std::function<std::vector<Multiaddr>()>;
    void set_address_source(AddressSource source);
    bool refresh_addrs();
    const std::vector<Multiaddr>& advertised_addrs() const noexcept { return m_advertised; }
    const crypto::PeerId& peer_id() const noexcept { return m_peer_id; }
    const crypto::PublicKey& public_key() const noexcept { return m_public_key; }

    // Registers the handler run for each inbound stream that negotiates `protocol`.
    void set_handler(std::string protocol, StreamHandler handler);
    std::vector<std::string> protocols() const;

    // Dials a TCP multiaddr. With /p2p/<id> the remote must prove that id (else peer_id_mismatch),
    // an open connection to that peer is reused, and concurrent dials to it share one attempt.
    //
    // One connection per peer: when a second connection to a peer completes (the two peers
    // dialed each other at once), both sides keep the one dialed by the lower peer id and drain
    // the other (Connection::drain); two connections from the same dialer keep the older one.
    // dial() returns the connection that is kept.
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> dial(Multiaddr addr);
    // A one-off connection that only proves `addr` (with /p2p/<id>, an IP literal) reaches that
    // peer: it is upgraded, checked against the id, and closed at once. It is neither kept nor
    // registered as the peer's connection, serves no streams, runs no identify, has no backoff,
    // and uses a throwaway identity of this host's (the spec allows a dial-back from another
    // peer id), so the peer's own connection to us, and its one-connection-per-peer rule, are
    // untouched. For AutoNAT dial-backs; `timeout` bounds connect and handshake together.
    boost::asio::awaitable<Result<void>> probe_dial(Multiaddr addr, Clock::duration timeout);
    // A stream on an open connection to `peer`.
    boost::asio::awaitable<Result<std::shared_ptr<Stream>>> open_stream(const crypto::PeerId& peer,
                                                                        std::string protocol);
    // Asks the remote for its identify record; checks that its key matches the connection.
    boost::asio::awaitable<Result<IdentifyInfo>> identify(std::shared_ptr<Connection> connection);
    // `count` pings on one stream; the round-trip times.
    boost::asio::awaitable<Result<std::vector<Clock::duration>>> ping(
        std::shared_ptr<Connection> connection, std::size_t count = 1);

    // Runs the connection upgrade (multistream, Noise XX, yamux) over a relayed circuit: `stream`
    // is the hop stream we dialed through a relay (outbound; the remote must prove `expected`)
    // or a stop stream a relay opened to us (inbound). The connection joins the host like a
    // dialed or accepted one, with Connection::relayed() set; one connection per peer keeps a
    // direct connection over a relayed one. Returns the relayed connection (draining when a
    // direct one won).
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> upgrade_relayed(
        std::shared_ptr<Stream> stream, bool outbound, Multiaddr remote_addr,
        std::optional<crypto::PeerId> expected);
    // A hole punch (DCUtR): dials each of `addrs` (direct TCP; DNS names are resolved) from the
    // listen port after `dial_after`, and until `timeout` takes a connection from the peer's IPs as
    // the punch's too, whichever way the sockets meet (simultaneous open, or one side's SYN
    // reaching the other's listener). Every such connection is upgraded in the role `initiator`
    // says, whether it was dialed or accepted, so the two sides agree; a connection that proves
    // another peer is closed. Returns the direct connection to `peer` that is kept, or timeout.
    // While a punch is pending, another peer connecting from the same IP fails its handshake.
    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> punch(crypto::PeerId peer,
                                                                      std::vector<Multiaddr> addrs,
                                                                      bool initiator,
                                                                      Clock::duration timeout,
                                                                      Clock::duration dial_after);
    // Where dial() sends /p2p-circuit addresses (the relay client); without one they are
    // unsupported_address.
    using CircuitDialer =
        std::function<boost::asio::awaitable<Result<std::shared_ptr<Connection>>>(Multiaddr)>;
    void set_circuit_dialer(CircuitDialer dialer) { m_circuit_dialer = std::move(dialer); }

    // An open connection to `peer`, a direct one if there is one.
    std::shared_ptr<Connection> connection_to(const crypto::PeerId& peer) const;
    std::size_t connection_count() const noexcept { return m_connections.size(); }
    // Every connection the host keeps (open, draining or closing).
    const std::vector<std::shared_ptr<Connection>>& connections() const noexcept {
        return m_connections;
    }
    const HostStats& stats() const noexcept { return m_stats; }
    // Bytes carried so far, split by direct and relayed connections.
    HostTraffic traffic() const;
    // The last identify record received from each connected peer.
    const IdentifyInfo* identified(const crypto::PeerId& peer) const;
    // Verified signed peer records learned through identify, newest seq per peer.
    const PeerRecordStore& peer_records() const noexcept { return m_records; }
    // Our own signed record of the current listen addresses (empty before listen()).
    const Bytes& signed_peer_record() const noexcept { return m_signed_record; }

    void on_identify(IdentifyHandler handler) { m_on_identify = std::move(handler); }
    void on_connection_closed(ConnectionHandler handler) { m_on_closed = std::move(handler); }

    // Closes the listeners and every connection (gracefully when open).
    void stop();

  private:
    struct Backoff {
        Clock::time_point until;
        Clock::duration delay{};
    };

    boost::asio::awaitable<void> accept_loop(
        std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor);
    struct PendingDial {
        explicit PendingDial(const boost::asio::any_io_executor& executor);
        boost::asio::steady_timer done;  // cancelled when result is set
        std::optional<Result<std::shared_ptr<Connection>>> result;
    };

    boost::asio::awaitable<Result<std::shared_ptr<Connection>>> dial_new(
        Multiaddr addr, std::optional<crypto::PeerId> expected);
    std::shared_ptr<Connection> keep_one_connection(const std::shared_ptr<Connection>& fresh);
    // A freshly upgraded connection joins the host: one connection per peer decides which to
    // keep, the punches waiting for the peer are settled, and the kept fresh one is identified.
    // Returns the connection kept.
    std::shared_ptr<Connection> adopt(const std::shared_ptr<Connection>& fresh);
    boost::asio::awaitable<void> serve_inbound(std::shared_ptr<Connection> connection);
    boost::asio::awaitable<void> serve_stream(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<void> identify_on_connect(std::shared_ptr<Connection> connection);
    boost::asio::awaitable<void> answer_identify(std::shared_ptr<Stream> stream);
    boost::asio::awaitable<void> answer_ping(std::shared_ptr<Stream> stream);
    struct PendingPunch {
        PendingPunch(const boost::asio::any_io_executor& executor, crypto::PeerId peer,
                     std::vector<std::string> ips, bool initiator, Clock::time_point deadline);
        // The id a punched connection must prove: checked by Noise when we are its initiator,
        // after the upgrade otherwise.
        std::optional<crypto::PeerId> expected() const {
            return initiator ? std::optional(peer) : std::nullopt;
        }

        crypto::PeerId peer;
        std::vector<std::string> ips;  // the peer's addresses' IPs, as text
        bool initiator;
        boost::asio::steady_timer done;  // expires at the deadline; cancelled when settled
        std::shared_ptr<Connection> result;
    };

    // The endpoints of an IP literal or a DNS name (dns4 and dns6 keep their family).
    boost::asio::awaitable<Result<std::vector<boost::asio::ip::tcp::endpoint>>> resolve(
        const TcpEndpoint& endpoint);
    boost::asio::awaitable<Result<boost::asio::ip::tcp::socket>> connect(
        const TcpEndpoint& endpoint, Clock::duration timeout, bool from_listen_port);
    // Opens `socket` for `to` bound to our listen port when one of the same family can reach it;
    // returns whether it bound.
    bool bind_to_listen_port(boost::asio::ip::tcp::socket& socket,
                             const boost::asio::ip::tcp::endpoint& to);
    boost::asio::awaitable<void> punch_dial(std::shared_ptr<PendingPunch> punch, Multiaddr addr,
                                            Clock::time_point deadline);
    std::shared_ptr<PendingPunch> punch_from(const std::string& ip) const;
    // A direct connection to a peer settles the punches waiting for it.
    void settle_punches(const std::shared_ptr<Connection>& connection);
    Connection::InboundStreamHandler stream_handler();
    Connection::ClosedHandler closed_handler();
    void record_dial_failure(const std::string& key);
    // Why an inbound socket from `ip` must be refused, or empty to accept it.
    const char* refusal(const boost::asio::ip::address& ip);
    void log_refusal(const char* reason, const Multiaddr& remote);
    void seal_own_record();

    boost::asio::any_io_executor m_executor;
    crypto::PrivateKey m_identity;
    crypto::PublicKey m_public_key;
    crypto::PeerId m_peer_id;
    std::shared_ptr<const NoiseIdentity> m_noise_identity;
    std::shared_ptr<const NoiseIdentity> m_probe_identity;  // made on the first probe_dial
    HostOptions m_options;
    std::map<std::string, StreamHandler> m_handlers;
    std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> m_acceptors;
    std::vector<Multiaddr> m_listen_addrs;
    std::vector<Multiaddr> m_advertised;  // what identify and the record say
    AddressSource m_address_source;
    std::vector<std::shared_ptr<Connection>> m_connections;
    std::unordered_map<crypto::PeerId, IdentifyInfo> m_identified;
    PeerRecordStore m_records;
    Bytes m_signed_record;
    std::uint64_t m_record_seq = 0;
    std::map<std::string, Backoff> m_backoff;
    std::unordered_map<crypto::PeerId, std::shared_ptr<PendingDial>> m_pending_dials;
    std::unordered_map<crypto::PeerId, std::size_t> m_inbound_pings;
    std::vector<std::shared_ptr<PendingPunch>> m_punches;
    HostStats m_stats;
    HostTraffic m_closed_traffic;  // of connections no longer kept
    Clock::time_point m_next_refusal_log{};
    std::uint64_t m_refusals_unlogged = 0;
    IdentifyHandler m_on_identify;
    ConnectionHandler m_on_closed;
    CircuitDialer m_circuit_dialer;
    std::shared_ptr<bool> m_alive;
    bool m_stopped = false;
};

}  // namespace swarmd::net
