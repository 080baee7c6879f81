#include "node/sync.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/error.hpp"
#include "net/host.hpp"
#include "net/stream.hpp"
#include "node/spec.hpp"
#include "node/zo_engine.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kRequestSize = 40;
constexpr std::size_t kMaxAuthor = 64;
constexpr std::size_t kMaxChunkBytes = kSyncChunkUpdates * (1 + kMaxAuthor + kZoMessageSize);
constexpr std::chrono::seconds kSyncTimeout{30};

}  // namespace

Bytes encode_sync_records(std::span<const training::Update> updates) {
    Bytes out;
    for (const auto& u : updates) {
        out.push_back(static_cast<std::uint8_t>(u.author.size()));
        append(out, u.author);
        append(out, encode_zo_message(u));
    }
    return out;
}

Result<std::vector<training::Update>> decode_sync_records(ByteSpan bytes) {
    std::vector<training::Update> out;
    while (!bytes.empty()) {
        const std::size_t len = bytes[0];
        if (len == 0 || len > kMaxAuthor || bytes.size() < 1 + len + kZoMessageSize) {
            return net::Errc::truncated_message;
        }
        Bytes author(bytes.begin() + 1, bytes.begin() + 1 + static_cast<std::ptrdiff_t>(len));
        if (!crypto::PeerId::from_bytes(author)) return net::Errc::bad_peer_id;
        auto u = decode_zo_message(bytes.subspan(1 + len, kZoMessageSize), std::move(author));
        if (!u) return net::Errc::protocol_error;
        out.push_back(std::move(*u));
        bytes = bytes.subspan(1 + len + kZoMessageSize);
    }
    return out;
}

void serve_sync(net::Host& host, Bytes swarm_id, SnapshotFn snapshot) {
    host.set_handler(std::string(kSyncProtocol), [swarm_id, snapshot](std::shared_ptr<net::Stream> stream)
                                                     -> asio::awaitable<void> {
        stream->set_deadline(std::chrono::steady_clock::now() + kSyncTimeout);
        auto request = co_await stream->read_length_prefixed(kRequestSize);
        if (!request || request.value().size() != kRequestSize ||
            !std::equal(swarm_id.begin(), swarm_id.end(), request.value().begin())) {
            stream->reset();
            co_return;
        }
        std::uint64_t through = 0;
        for (int i = 0; i < 8; ++i) through = through << 8 | request.value()[32 + i];
        // The log lives on the compute thread: wait for its snapshot on a timer used as an event.
        std::optional<std::vector<training::Update>> updates;
        asio::steady_timer ready(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
        snapshot(through, [&updates, &ready](std::vector<training::Update> u) {
            updates = std::move(u);
            ready.cancel();
        });
        boost::system::error_code ec;
        co_await ready.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!updates) co_return;
        std::span<const training::Update> all(*updates);
        Bytes count;
        for (int i = 7; i >= 0; --i) count.push_back(static_cast<std::uint8_t>(all.size() >> (8 * i)));
        if (!co_await stream->write_length_prefixed(count)) co_return;
        for (std::size_t i = 0; i < all.size(); i += kSyncChunkUpdates) {
            auto chunk = all.subspan(i, std::min(kSyncChunkUpdates, all.size() - i));
            if (!co_await stream->write_length_prefixed(encode_sync_records(chunk))) co_return;
        }
        stream->close_write();
    });
}

asio::awaitable<Result<std::vector<training::Update>>> fetch_updates(net::Host& host,
                                                                     const crypto::PeerId& peer,
                                                                     Bytes swarm_id,
                                                                     std::uint64_t through) {
    auto stream = co_await host.open_stream(peer, std::string(kSyncProtocol));
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    s.set_deadline(std::chrono::steady_clock::now() + kSyncTimeout);
    Bytes request = swarm_id;
    for (int i = 7; i >= 0; --i) request.push_back(static_cast<std::uint8_t>(through >> (8 * i)));
    if (auto w = co_await s.write_length_prefixed(request); !w) co_return w.error();
    s.close_write();
    auto count_bytes = co_await s.read_length_prefixed(8);
    if (!count_bytes) co_return count_bytes.error();
    if (count_bytes.value().size() != 8) co_return net::Errc::protocol_error;
    std::uint64_t count = 0;
    for (auto b : count_bytes.value()) count = count << 8 | b;
    if (count > kMaxSyncUpdates) co_return net::Errc::message_too_large;
    std::vector<training::Update> out;
    std::uint64_t received = 0;
    while (received < count) {
        auto chunk = co_await s.read_length_prefixed(kMaxChunkBytes);
        if (!chunk) co_return chunk.error();
        auto records = decode_sync_records(chunk.value());
        if (!records) co_return records.error();
        received += records.value().size();
        if (received > count) co_return net::Errc::protocol_error;
        for (auto& u : records.value()) {
            if (u.round <= through) out.push_back(std::move(u));
        }
    }
    co_return out;
}

}  // namespace swarmd::node
