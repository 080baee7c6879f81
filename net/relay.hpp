#pragma once
// Circuit relay v2 (libp2p/specs relay/circuit-v2.md), sans-I/O: the HopMessage and StopMessage
// codec, reservation vouchers (signed envelopes), the relay server's reservation table and circuit
// accounting, and the client's checks and addresses. Time is passed in; nothing here reads a
// clock or does I/O. net/relay_service.* drives it on a Host.
//
// Reservation expirations travel as Unix seconds, so this core keeps time on the system clock.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "net/envelope.hpp"
#include "net/multiaddr.hpp"
#include "net/relay_error.hpp"

namespace swarmd::net::relay {

inline constexpr std::string_view kHopProtocol = "/libp2p/circuit/relay/0.2.0/hop";
inline constexpr std::string_view kStopProtocol = "/libp2p/circuit/relay/0.2.0/stop";
inline constexpr std::string_view kVoucherDomain = "libp2p-relay-rsvp";
// uvarint(0x0302), the libp2p-relay-rsvp multicodec.
inline constexpr std::array<std::uint8_t, 2> kVoucherPayloadType = {0x03, 0x02};

using Time = std::chrono::system_clock::time_point;

// Whole Unix seconds, as expirations travel.
std::uint64_t unix_seconds(Time t) noexcept;
Time from_unix_seconds(std::uint64_t seconds) noexcept;

// ---- messages ---------------------------------------------------------------------------------

// What a relay applies to one relayed connection; 0 means no limit (the spec's semantics).
struct Limit {
    std::uint32_t duration = 0;  // seconds
    std::uint64_t data = 0;      // bytes per direction

    friend bool operator==(const Limit&, const Limit&) = default;
};

struct PeerInfo {
    crypto::PeerId id;
    std::vector<Multiaddr> addrs;
};

struct Reservation {
    std::uint64_t expire = 0;      // Unix seconds
    std::vector<Multiaddr> addrs;  // the relay's addresses, each ending in /p2p/<relay id>
    Bytes voucher;                 // empty when the relay sent none
};

struct HopMessage {
    enum class Type { reserve = 0, connect = 1, status = 2 };
    Type type = Type::reserve;
    std::optional<PeerInfo> peer;
    std::optional<Reservation> reservation;
    std::optional<Limit> limit;
    std::optional<Status> status;
};

struct StopMessage {
    enum class Type { connect = 0, status = 1 };
    Type type = Type::connect;
    std::optional<PeerInfo> peer;
    std::optional<Limit> limit;
    std::optional<Status> status;
};

// Bounds on one message, checked on encode and on decode (before anything is kept). An address
// of a protocol swarmd does not know is skipped rather than refused.
struct Limits {
    static constexpr std::size_t kDefaultMaxMessageSize = 8 * 1024;
    static constexpr std::size_t kDefaultMaxAddrs = 32;

    std::size_t max_message_size = kDefaultMaxMessageSize;
    std::size_t max_addrs = kDefaultMaxAddrs;  // per peer or reservation
};

// The protobuf body (no length prefix). Decoding checks the fields each type needs: CONNECT a
// peer with a valid id, STATUS a status (an unknown status code reads as Status::unused).
Result<Bytes> encode_hop(const HopMessage& message, const Limits& limits = {});
Result<HopMessage> decode_hop(ByteSpan body, const Limits& limits = {});
Result<Bytes> encode_stop(const StopMessage& message, const Limits& limits = {});
Result<StopMessage> decode_stop(ByteSpan body, const Limits& limits = {});

HopMessage hop_status(Status status);
StopMessage stop_status(Status status);

// ---- vouchers ---------------------------------------------------------------------------------

struct Voucher {
    crypto::PeerId relay;
    crypto::PeerId peer;
    std::uint64_t expiration = 0;  // Unix seconds

    friend bool operator==(const Voucher&, const Voucher&) = default;
};

// The canonical Voucher protobuf (fields in order) and its decoder.
Bytes encode_voucher(const Voucher& voucher);
Result<Voucher> decode_voucher(ByteSpan payload);
// The envelope of `voucher` signed by the relay's key (invalid_state if `key` is not the relay's).
Result<Bytes> seal_voucher(const Voucher& voucher, const crypto::PrivateKey& key);
// Opens a voucher envelope: signature, and the voucher's relay is the signer.
Result<Voucher> open_voucher(ByteSpan envelope);
// As open_voucher, and the voucher is for `peer` on `relay` and expires at `expiration`
// (voucher_mismatch otherwise): what a client checks on the voucher its relay just gave it.
Result<Voucher> verify_voucher(ByteSpan envelope, const crypto::PeerId& relay,
                               const crypto::PeerId& peer, std::uint64_t expiration);

// ---- relay server -----------------------------------------------------------------------------

struct ServerOptions {
    // go-libp2p's relay defaults (js-libp2p's circuit limits are the same).
    static constexpr std::chrono::seconds kDefaultReservationTtl{3600};
    static constexpr std::size_t kDefaultMaxReservations = 128;
    static constexpr std::size_t kDefaultMaxReservationsPerIp = 8;
    static constexpr std::size_t kDefaultMaxCircuitsPerPeer = 16;
    static constexpr std::size_t kDefaultMaxCircuits = 256;
    static constexpr std::uint32_t kDefaultCircuitDuration = 120;     // seconds
    static constexpr std::uint64_t kDefaultCircuitData = 128 * 1024;  // bytes per direction

    std::chrono::seconds reservation_ttl = kDefaultReservationTtl;
    // Reservations held at once, and from one IP address (loopback included: a relay is a public
    // service, and the per-IP cap is what stops one machine taking every slot).
    std::size_t max_reservations = kDefaultMaxReservations;
    std::size_t max_reservations_per_ip = kDefaultMaxReservationsPerIp;
    // Circuits open at once through one peer (as source or target), and in all.
    std::size_t max_circuits_per_peer = kDefaultMaxCircuitsPerPeer;
    std::size_t max_circuits = kDefaultMaxCircuits;
    Limit circuit_limit{kDefaultCircuitDuration, kDefaultCircuitData};
    Limits limits;
};

// Who asks: the remote peer of the hop stream, the IP its connection comes from, and whether
// that connection is itself relayed (the spec: no reservations or circuits over those).
struct Requester {
    crypto::PeerId peer;
    std::string ip;
    bool relayed = false;
};

// The relay's state: one reservation per peer (a repeat RESERVE renews it), bounded in all and
// per IP; circuits bounded per peer and in all, each limited in duration and bytes per direction.
class RelayServer {
  public:
    enum class Direction { to_target = 0, to_source = 1 };
    struct Circuit {
        crypto::PeerId source;
        crypto::PeerId target;
        Time opened{};
        Time deadline = Time::max();          // when the duration limit cuts it
        std::array<std::uint64_t, 2> sent{};  // bytes forwarded, by Direction
    };
    // What to do with one hop request: an answer to send, or for an admitted CONNECT, the circuit
    // to set up (open a stop stream to `target`, then answer OK or CONNECTION_FAILED).
    struct HopAction {
        std::optional<HopMessage> answer;
        std::optional<std::uint64_t> circuit;
    };

    RelayServer(crypto::PrivateKey identity, ServerOptions options = {});

    // RESERVE from `from`: OK with a reservation (expiry, `relay_addrs` with our /p2p/ id, a
    // voucher) and the circuit limit; RESERVATION_REFUSED when a cap is reached;
    // PERMISSION_DENIED over a relayed connection.
    HopMessage reserve(const Requester& from, const std::vector<Multiaddr>& relay_addrs, Time now);
    // Whether `peer` holds an unexpired reservation.
    bool has_reservation(const crypto::PeerId& peer, Time now) const;
    // The peer disconnected: its reservation is no longer valid (the spec).
    void drop_reservation(const crypto::PeerId& peer);

    // CONNECT from `from` to `target`: the id of a new circuit, or the refusal's status
    // (NO_RESERVATION, RESOURCE_LIMIT_EXCEEDED, PERMISSION_DENIED).
    Result<std::uint64_t> open_circuit(const Requester& from, const crypto::PeerId& target,
                                       Time now);
    void close_circuit(std::uint64_t id);
    const Circuit* circuit(std::uint64_t id) const;
    // How many of `n` bytes arriving for `direction` may be forwarded, counted as forwarded. Less
    // than n means the data limit is reached: the relay forwards those and resets the circuit.
    std::size_t admit(std::uint64_t id, Direction direction, std::size_t n);

    // Dispatches one decoded hop request: RESERVE answered, CONNECT checked, STATUS refused with
    // UNEXPECTED_MESSAGE.
    HopAction handle_hop(const Requester& from, const HopMessage& request,
                         const std::vector<Multiaddr>& relay_addrs, Time now);

    void expire(Time now);
    std::size_t reservations() const noexcept { return m_reservations.size(); }
    std::size_t circuits() const noexcept { return m_circuits.size(); }
    std::size_t circuits_of(const crypto::PeerId& peer) const;
    const ServerOptions& options() const noexcept { return m_options; }
    const crypto::PeerId& self() const noexcept { return m_self; }

  private:
    struct Entry {
        std::string ip;
        Time expire{};
    };

    crypto::PrivateKey m_identity;
    crypto::PeerId m_self;
    ServerOptions m_options;
    std::unordered_map<crypto::PeerId, Entry> m_reservations;
    std::map<std::uint64_t, Circuit> m_circuits;
    std::unordered_map<crypto::PeerId, std::size_t> m_circuits_per_peer;
    std::uint64_t m_next_circuit = 1;
};

// ---- client -----------------------------------------------------------------------------------

// A reservation the relay granted, as the client checked it.
struct Granted {
    Reservation reservation;
    std::optional<Limit> limit;
};

// Checks the relay's answer to our RESERVE: a STATUS, OK (else the Status as the error), with a
// reservation that has not expired at `now`, and whose voucher, when present, verifies for us on
// `relay` with the same expiration. Addresses in it that do not end in /p2p/<relay> get it.
Result<Granted> check_reservation(const HopMessage& answer, const crypto::PeerId& relay,
                                  const crypto::PeerId& self, Time now);
// When to renew a reservation obtained at `now`: three quarters of the way to its expiry.
Time renewal_time(const Reservation& reservation, Time now);
// Our addresses through a relay: each relay address (with /p2p/<relay>) + /p2p-circuit.
std::vector<Multiaddr> circuit_addrs(const Reservation& reservation);

// A dialable circuit address split in its parts:
// <relay transport>/p2p/<relay>/p2p-circuit/p2p/<target>.
struct CircuitAddr {
    Multiaddr relay_addr;  // with /p2p/<relay>
    crypto::PeerId relay;
    crypto::PeerId target;
};
Result<CircuitAddr> parse_circuit_addr(const Multiaddr& addr);
bool is_circuit_addr(const Multiaddr& addr);

}  // namespace swarmd::net::relay
