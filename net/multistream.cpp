#include "net/multistream.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/varint.hpp"
#include "net/error.hpp"

namespace swarmd::net {
namespace {

constexpr std::string_view kNa = "na";
constexpr std::string_view kLs = "ls";

void check_protocol_id(std::string_view id, const MultistreamOptions& options) {
    if (id.empty() || id.size() + 1 > options.max_message_size ||
        id.find('\n') != std::string_view::npos) {
        throw std::invalid_argument("invalid multistream protocol id: " + std::string(id));
    }
}

}  // namespace

void multistream_append(Bytes& out, std::string_view message) {
    varint_append(out, message.size() + 1);
    append(out, as_bytes(message));
    out.push_back('\n');
}

namespace detail {

Result<std::optional<std::string>> MultistreamReader::next() {
    const ByteSpan rest = ByteSpan(m_buffer).subspan(m_pos);
    const auto len = varint_decode(rest);
    if (len.status == VarintStatus::incomplete) return std::optional<std::string>{};
    if (len.status != VarintStatus::ok) return Errc::bad_varint;
    if (len.value > m_max) return Errc::message_too_large;
    if (len.value == 0) return Errc::protocol_error;
    if (rest.size() - len.length < len.value) return std::optional<std::string>{};
    const ByteSpan body = rest.subspan(len.length, static_cast<std::size_t>(len.value));
    if (body.back() != '\n') return Errc::protocol_error;
    m_pos += len.length + body.size();
    std::string message(as_string_view(body.first(body.size() - 1)));
    if (m_pos == m_buffer.size()) {
        m_buffer.clear();
        m_pos = 0;
    }
    return std::optional<std::string>(std::move(message));
}

bool MultistreamReader::may_be_header() const {
    static const Bytes header = [] {
        Bytes framed;
        multistream_append(framed, kMultistreamProtocol);
        return framed;
    }();
    const ByteSpan rest = ByteSpan(m_buffer).subspan(m_pos);
    const std::size_t n = std::min(rest.size(), header.size());
    return std::equal(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n), header.begin());
}

Bytes MultistreamReader::take_rest() {
    Bytes rest(m_buffer.begin() + static_cast<std::ptrdiff_t>(m_pos), m_buffer.end());
    m_buffer.clear();
    m_pos = 0;
    return rest;
}

}  // namespace detail

MultistreamDialer::MultistreamDialer(std::vector<std::string> protocols, MultistreamOptions options)
    : m_protocols(std::move(protocols)), m_reader(options.max_message_size) {
    if (m_protocols.empty()) throw std::invalid_argument("multistream dialer needs a protocol");
    for (const auto& p : m_protocols) check_protocol_id(p, options);
}

Bytes MultistreamDialer::start() {
    Bytes out;
    if (m_state != State::idle) return out;
    multistream_append(out, kMultistreamProtocol);
    multistream_append(out, m_protocols[m_current]);
    m_state = State::await_header;
    return out;
}

Result<MultistreamStep> MultistreamDialer::feed(ByteSpan in) {
    if (m_state != State::await_header && m_state != State::await_answer) {
        return Errc::invalid_state;
    }
    m_reader.feed(in);
    MultistreamStep step;
    auto fail = [this](auto e) {
        m_state = State::failed;
        return std::error_code(e);
    };
    for (;;) {
        auto message = m_reader.next();
        if (!message) return fail(message.error());
        if (!message.value()) {
            // Rather than wait for the rest of a header that cannot be one.
            if (m_state == State::await_header && !m_reader.may_be_header()) {
                return fail(Errc::bad_multistream_header);
            }
            return step;
        }
        const std::string& msg = *message.value();
        if (m_state == State::await_header) {
            if (msg != kMultistreamProtocol) return fail(Errc::bad_multistream_header);
            m_state = State::await_answer;
        } else if (msg == m_protocols[m_current]) {
            m_state = State::agreed;
            m_leftover = m_reader.take_rest();
            step.agreed = true;
            return step;
        } else if (msg == kNa) {
            if (++m_current == m_protocols.size()) {
                m_current = 0;
                return fail(Errc::protocol_not_supported);
            }
            multistream_append(step.output, m_protocols[m_current]);
        } else {
            return fail(Errc::protocol_error);
        }
    }
}

MultistreamListener::MultistreamListener(std::vector<std::string> supported,
                                         MultistreamOptions options)
    : m_supported(std::move(supported)), m_options(options), m_reader(options.max_message_size) {
    for (const auto& p : m_supported) check_protocol_id(p, options);
}

Result<MultistreamStep> MultistreamListener::feed(ByteSpan in) {
    if (m_state != State::await_header && m_state != State::await_proposal) {
        return Errc::invalid_state;
    }
    m_reader.feed(in);
    MultistreamStep step;
    auto fail = [this](auto e) {
        m_state = State::failed;
        return std::error_code(e);
    };
    for (;;) {
        auto message = m_reader.next();
        if (!message) return fail(message.error());
        if (!message.value()) {
            // Rather than wait for the rest of a header that cannot be one.
            if (m_state == State::await_header && !m_reader.may_be_header()) {
                return fail(Errc::bad_multistream_header);
            }
            return step;
        }
        const std::string& msg = *message.value();
        if (m_state == State::await_header) {
            if (msg != kMultistreamProtocol) return fail(Errc::bad_multistream_header);
            multistream_append(step.output, kMultistreamProtocol);
            m_state = State::await_proposal;
        } else if (msg != kLs && msg != kNa &&
                   std::find(m_supported.begin(), m_supported.end(), msg) != m_supported.end()) {
            multistream_append(step.output, msg);
            m_protocol = msg;
            m_state = State::agreed;
            m_leftover = m_reader.take_rest();
            step.agreed = true;
            return step;
        } else {
            // `ls` is answered like an unknown protocol: no peer relies on listings.
            if (++m_refused > m_options.max_proposals) return fail(Errc::protocol_error);
            multistream_append(step.output, kNa);
        }
    }
}

}  // namespace swarmd::net
