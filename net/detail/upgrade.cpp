#include "net/detail/upgrade.hpp"

// GCC 12 flags the recycling allocator of Asio 1.18 coroutine frames as a mismatched new/delete
// once this function is inlined; it is a false positive (same allocator on both sides).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "net/error.hpp"

namespace swarmd::net::detail {

namespace asio = boost::asio;

namespace {

asio::awaitable<Result<Bytes>> read(SecureChannel& channel, Layer layer) {
    if (layer == Layer::raw) co_return co_await channel.read_raw();
    co_return co_await channel.read_plain();
}

asio::awaitable<Result<void>> write(SecureChannel& channel, Layer layer, ByteSpan bytes) {
    if (bytes.empty()) co_return success();
    if (layer == Layer::raw) co_return co_await channel.write_raw(bytes);
    co_return co_await channel.write_plain(bytes);
}

void unread(SecureChannel& channel, Layer layer, Bytes bytes) {
    if (bytes.empty()) return;
    if (layer == Layer::raw) {
        channel.unread_raw(std::move(bytes));
    } else {
        channel.unread_plain(std::move(bytes));
    }
}

// Under pnet, a peer with another key (or none) decrypts to garbage, and one that sees garbage
// from us hangs up: either way the first multistream exchange fails. Socket errors other than a
// reset keep their own code.
std::error_code pnet_failure(std::error_code ec) {
    if (ec.category() == net_category() || ec == std::errc::connection_reset)
        return Errc::private_network_mismatch;
    return ec;
}

}  // namespace

asio::awaitable<Result<void>> negotiate_outbound(SecureChannel& channel, Layer layer,
                                                 std::string protocol, MultistreamOptions options) {
    MultistreamDialer dialer({std::move(protocol)}, options);
    auto first = co_await write(channel, layer, dialer.start());
    if (!first) co_return first.error();
    while (!dialer.agreed()) {
        auto in = co_await read(channel, layer);
        if (!in) co_return in.error();
        auto step = dialer.feed(in.value());
        if (!step) co_return step.error();
        auto written = co_await write(channel, layer, step.value().output);
        if (!written) co_return written.error();
    }
    unread(channel, layer, dialer.take_leftover());
    co_return success();
}

asio::awaitable<Result<std::string>> negotiate_inbound(SecureChannel& channel, Layer layer,
                                                       std::vector<std::string> supported,
                                                       MultistreamOptions options) {
    MultistreamListener listener(std::move(supported), options);
    while (!listener.agreed()) {
        auto in = co_await read(channel, layer);
        if (!in) co_return in.error();
        auto step = listener.feed(in.value());
        if (!step) co_return step.error();
        auto written = co_await write(channel, layer, step.value().output);
        if (!written) co_return written.error();
    }
    unread(channel, layer, listener.take_leftover());
    co_return listener.protocol();
}

asio::awaitable<Result<NoiseRemote>> upgrade(SecureChannel& channel, bool outbound,
                                             std::shared_ptr<const NoiseIdentity> identity,
                                             std::optional<crypto::PeerId> expected_remote,
                                             Phase& phase, const crypto::Psk* psk,
                                             AdmitPeer admit) {
    // (Arguments are built outside the co_await expressions: GCC 12 miscompiles braced
    // initializers inside them.)
    std::vector<std::string> noise_ids{std::string(kNoiseProtocolId)};
    std::vector<std::string> yamux_ids{std::string(kYamuxProtocolId)};

    if (psk) {
        phase = Phase::pnet_handshake;
        auto protected_channel = co_await channel.protect(*psk);
        if (!protected_channel) co_return pnet_failure(protected_channel.error());
    }

    phase = Phase::security_negotiation;
    auto failed = [psk](std::error_code ec) { return psk ? pnet_failure(ec) : ec; };
    if (outbound) {
        auto agreed = co_await negotiate_outbound(channel, Layer::raw, noise_ids.front());
        if (!agreed) co_return failed(agreed.error());
    } else {
        auto agreed = co_await negotiate_inbound(channel, Layer::raw, noise_ids);
        if (!agreed) co_return failed(agreed.error());
    }

    phase = Phase::noise_handshake;
    std::optional<NoiseHandshake> started;
    if (outbound) {
        started.emplace(NoiseHandshake::initiator(identity, std::move(expected_remote)));
    } else {
        started.emplace(NoiseHandshake::responder(identity));
    }
    NoiseHandshake& handshake = *started;
    const Bytes first = handshake.start();
    if (!first.empty()) {
        auto sent = co_await channel.write_raw(first);
        if (!sent) co_return sent.error();
    }
    while (!handshake.done()) {
        auto in = co_await channel.read_raw();
        if (!in) co_return in.error();
        auto step = handshake.feed(in.value());
        if (!step) co_return step.error();
        if (!step.value().output.empty()) {
            auto written = co_await channel.write_raw(step.value().output);
            if (!written) co_return written.error();
        }
    }
    NoiseRemote remote = handshake.remote();
    channel.unread_raw(handshake.take_leftover());
    channel.secure(handshake.into_session());
    if (admit && !admit(remote.peer_id)) co_return Errc::peer_not_allowed;

    phase = Phase::muxer_negotiation;
    if (outbound) {
        auto agreed = co_await negotiate_outbound(channel, Layer::secured, yamux_ids.front());
        if (!agreed) co_return agreed.error();
    } else {
        auto agreed = co_await negotiate_inbound(channel, Layer::secured, yamux_ids);
        if (!agreed) co_return agreed.error();
    }
    co_return remote;
}

}  // namespace swarmd::net::detail
