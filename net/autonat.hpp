#pragma once
// AutoNAT v1 /libp2p/autonat/1.0.0 (libp2p/specs autonat/autonat-v1.md), sans-I/O: the message
// codec, the server's admission policy and the client's reachability verdict. Time is passed in;
// nothing here reads a clock or does I/O. net/autonat_service.* drives it on a Host.
//
// A client opens a stream, writes one length-prefixed DIAL naming its peer id and the addresses
// to test; the server dials them back on a fresh connection and writes one DIAL_RESPONSE.
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"
#include "net/autonat_error.hpp"
#include "net/multiaddr.hpp"
#include "net/observed_addrs.hpp"

namespace swarmd::net::autonat {

inline constexpr std::string_view kProtocol = "/libp2p/autonat/1.0.0";

using Time = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// ---- messages ---------------------------------------------------------------------------------

enum class MessageType { dial = 0, dial_response = 1 };

enum class ResponseStatus {
    ok = 0,
    dial_error = 100,
    dial_refused = 101,
    bad_request = 200,
    internal_error = 300,
};

struct Dial {
    std::optional<crypto::PeerId> peer;  // absent when the sender left it out
    std::vector<Multiaddr> addrs;
};

struct DialResponse {
    ResponseStatus status = ResponseStatus::ok;
    std::string status_text;
    std::optional<Multiaddr> addr;  // with ok: the address dialed
};

struct Message {
    MessageType type = MessageType::dial;
    std::optional<Dial> dial;                   // set exactly when type is dial
    std::optional<DialResponse> dial_response;  // set exactly when type is dial_response
};

Message make_dial(const crypto::PeerId& self, std::vector<Multiaddr> addrs);
Message make_response(DialResponse response);

// Bounds on one message. go-libp2p caps a message at 4 KiB; the cap here leaves room for a js
// peer's longer addresses. A DIAL naming more than max_addrs addresses is not refused: the first
// max_addrs are decoded and the rest ignored (nobody dials back more than a few). An address of
// a protocol swarmd does not know is skipped.
struct Limits {
    static constexpr std::size_t kDefaultMaxMessageSize = 8 * 1024;
    static constexpr std::size_t kDefaultMaxAddrs = 16;
    static constexpr std::size_t kDefaultMaxStatusText = 256;

    std::size_t max_message_size = kDefaultMaxMessageSize;
    std::size_t max_addrs = kDefaultMaxAddrs;
    std::size_t max_status_text = kDefaultMaxStatusText;
};

// The protobuf body (no length prefix).
Result<Bytes> encode_message(const Message& message, const Limits& limits = {});
Result<Message> decode_message(ByteSpan body, const Limits& limits = {});

// ---- server -----------------------------------------------------------------------------------

struct ServerOptions {
    static constexpr std::size_t kDefaultMaxInFlightPerPeer = 1;
    static constexpr std::size_t kDefaultMaxPerPeer = 2;
    static constexpr std::size_t kDefaultMaxGlobal = 30;
    static constexpr std::chrono::minutes kDefaultWindow{1};
    static constexpr std::size_t kDefaultMaxDialAddrs = 4;

    std::size_t max_in_flight_per_peer = kDefaultMaxInFlightPerPeer;
    // Admitted requests per window: from one peer, and in all.
    std::size_t max_per_peer = kDefaultMaxPerPeer;
    std::size_t max_global = kDefaultMaxGlobal;
    Duration window = kDefaultWindow;
    // Addresses dialed back for one request.
    std::size_t max_dial_addrs = kDefaultMaxDialAddrs;
};

// The server's policy, as the spec's security section asks: a request over a relayed
// connection is refused (the requester's IP cannot be known), as is one naming another peer id
// or coming from an address that is not public; only /ip4|ip6/<ip>/tcp/<port> addresses whose
// IP is the one the requester is seen at are dialed back (no one can aim the server at a third
// party), a few at most; and requests are rate limited per peer and in all.
class Server {
  public:
    explicit Server(AddressPolicy policy = {}, ServerOptions options = {})
        : m_policy(std::move(policy)), m_options(options) {}

    // What to do with a request: dial these addresses, or answer with the refusal.
    struct Admission {
        std::vector<Multiaddr> dial;          // non-empty when admitted
        std::optional<DialResponse> refusal;  // set when not
    };

    // A request from `sender`, seen at `observed` (its address on the connection the request
    // came on). An admitted request holds the sender's in-flight slot until finished().
    Admission admit(const crypto::PeerId& sender, const Multiaddr& observed, const Message& request,
                    Time now);
    void finished(const crypto::PeerId& sender);

    // The answer to an admitted request: ok with the address that answered, else dial_error.
    static DialResponse result(const std::optional<Multiaddr>& dialed);

    const AddressPolicy& policy() const noexcept { return m_policy; }

  private:
    struct PeerState {
        std::size_t in_flight = 0;
        std::deque<Time> admitted;  // within the window
    };
    void forget_old(Time now);

    AddressPolicy m_policy;
    ServerOptions m_options;
    std::map<crypto::PeerId, PeerState> m_peers;
    std::deque<Time> m_admitted;
};

// ---- client -----------------------------------------------------------------------------------

enum class Reachability { unknown, public_, private_ };
std::string_view to_string(Reachability r) noexcept;

struct ClientOptions {
    static constexpr std::size_t kDefaultServersPerRound = 4;
    static constexpr std::chrono::seconds kDefaultRequestTimeout{30};
    static constexpr std::chrono::seconds kDefaultRetryInterval{90};
    static constexpr std::chrono::minutes kDefaultRefreshInterval{15};
    static constexpr std::chrono::minutes kDefaultAnswerTtl{30};
    static constexpr std::size_t kDefaultConfirmations = 3;
    static constexpr std::size_t kDefaultMaxServers = 64;

    // Servers asked at once.
    std::size_t servers_per_round = kDefaultServersPerRound;
    Duration request_timeout = kDefaultRequestTimeout;
    // Time between rounds while the verdict is unknown, and once it is decided.
    Duration retry_interval = kDefaultRetryInterval;
    Duration refresh_interval = kDefaultRefreshInterval;
    // An answer counts for this long.
    Duration answer_ttl = kDefaultAnswerTtl;
    // Servers (IP groups) that must agree, and outnumber those that disagree, for a verdict.
    std::size_t confirmations = kDefaultConfirmations;
    // IP groups whose answers are kept.
    std::size_t max_servers = kDefaultMaxServers;
};

// A peer that could be asked: connected, and speaking kProtocol.
struct ServerCandidate {
    crypto::PeerId id;
    Multiaddr addr;  // its address on our connection: the IP group it counts in
};

// The client's side: which servers to ask when, and what their answers add up to. Servers are
// counted per IP group (IPv4 address, IPv6 /56), not per peer id, and an answer expires: so a
// host with many peer ids counts once, and one or two lying servers cannot outvote three honest
// ones. Only ok (reachable) and dial_error (unreachable) answers vote; a refusal or a timeout
// says nothing about us.
class Client {
  public:
    explicit Client(ClientOptions options = {}) : m_options(options) {}

    // A check is due now (our addresses changed).
    void recheck(Time now);
    // Fails overdue queries, then names the servers to ask now: while a round is open (it
    // opens when due and closes once it asked servers_per_round servers), candidates of IP
    // groups not in flight, those without a current answer first.
    std::vector<crypto::PeerId> next(const std::vector<ServerCandidate>& candidates, Time now);
    // The answer of a server we asked, to a DIAL naming `asked`. An ok that names an address
    // we did not ask for does not vote.
    void on_response(const crypto::PeerId& server, const DialResponse& response,
                     const std::vector<Multiaddr>& asked, Time now);
    void on_failure(const crypto::PeerId& server);

    Reachability reachability(Time now) const;
    // When next() has something to do: the next round, or the earliest query deadline. A new
    // candidate or a finished query is a reason to call next() before that.
    Time next_wakeup(Time now) const;
    std::size_t in_flight() const noexcept { return m_in_flight.size(); }
    // Current answers: reachable, unreachable.
    std::pair<std::size_t, std::size_t> votes(Time now) const;

  private:
    struct Query {
        IpAddress group;
        Time deadline{};
    };
    struct Vote {
        bool reachable = false;
        Time at{};
    };
    Time next_round(Time now) const;

    ClientOptions m_options;
    std::map<crypto::PeerId, Query> m_in_flight;
    std::map<IpAddress, Vote> m_votes;  // by server IP group
    std::optional<Time> m_round_started;
    std::size_t m_asked_in_round = 0;
    bool m_recheck = true;  // the first check is due at once
};

}  // namespace swarmd::net::autonat
