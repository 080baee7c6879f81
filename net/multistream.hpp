#pragma once
// multistream-select 1.0, sans-I/O. Every message is uvarint(len + 1) || msg || '\n'.
//
// The dialer writes the header and its first proposal in one write and does not wait for the
// listener's header (a js listener stays silent until the dialer's header arrives). A single-
// protocol dialer may write application bytes right after start() ("lazy" select); a later `na`
// then surfaces as protocol_not_supported from feed(). The listener answers the header and any
// pipelined proposals from one read. Bytes that follow the agreed protocol's message belong to
// that protocol and are handed back as leftover.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace swarmd::net {

inline constexpr std::string_view kMultistreamProtocol = "/multistream/1.0.0";

struct MultistreamOptions {
    // go-multistream rejects longer messages (the length counts the trailing newline).
    static constexpr std::size_t kDefaultMaxMessageSize = 1024;
    // A listener answers `na` at most this many times before giving up on the peer.
    static constexpr std::size_t kDefaultMaxProposals = 32;

    std::size_t max_message_size = kDefaultMaxMessageSize;
    std::size_t max_proposals = kDefaultMaxProposals;
};

// One step of a negotiation: bytes to write to the peer, and whether a protocol was agreed.
struct MultistreamStep {
    Bytes output;
    bool agreed = false;
};

// Appends one framed message to `out`.
void multistream_append(Bytes& out, std::string_view message);

namespace detail {
// Splits the framed messages out of a byte stream fed in arbitrary chunks.
class MultistreamReader {
  public:
    explicit MultistreamReader(std::size_t max_message_size) : m_max(max_message_size) {}
    void feed(ByteSpan in) { append(m_buffer, in); }
    // The next complete message without its newline, or an empty optional if more bytes are
    // needed. Fails on a bad varint, an oversized length or a missing newline.
    Result<std::optional<std::string>> next();
    // Whether the unread bytes could still begin the framed multistream header. Lets a side fail
    // at the first wrong byte of garbage (a peer in another private network, a non-libp2p
    // client) instead of waiting for the length such bytes happen to announce.
    bool may_be_header() const;
    Bytes take_rest();

  private:
    std::size_t m_max;
    Bytes m_buffer;
    std::size_t m_pos = 0;
};
}  // namespace detail

class MultistreamDialer {
  public:
    // `protocols` in order of preference; each must be non-empty and fit a message.
    explicit MultistreamDialer(std::vector<std::string> protocols, MultistreamOptions options = {});

    // The first write: header and first proposal.
    Bytes start();
    Result<MultistreamStep> feed(ByteSpan in);

    bool agreed() const noexcept { return m_state == State::agreed; }
    // The agreed protocol, once agreed() is true.
    const std::string& protocol() const { return m_protocols[m_current]; }
    // Bytes received after the agreement; they belong to the agreed protocol.
    Bytes take_leftover() { return std::move(m_leftover); }

  private:
    enum class State { idle, await_header, await_answer, agreed, failed };
    std::vector<std::string> m_protocols;
    detail::MultistreamReader m_reader;
    State m_state = State::idle;
    std::size_t m_current = 0;
    Bytes m_leftover;
};

class MultistreamListener {
  public:
    explicit MultistreamListener(std::vector<std::string> supported,
                                 MultistreamOptions options = {});

    Result<MultistreamStep> feed(ByteSpan in);

    bool agreed() const noexcept { return m_state == State::agreed; }
    const std::string& protocol() const noexcept { return m_protocol; }
    Bytes take_leftover() { return std::move(m_leftover); }

  private:
    enum class State { await_header, await_proposal, agreed, failed };
    std::vector<std::string> m_supported;
    MultistreamOptions m_options;
    detail::MultistreamReader m_reader;
    State m_state = State::await_header;
    std::size_t m_refused = 0;
    std::string m_protocol;
    Bytes m_leftover;
};

}  // namespace swarmd::net
