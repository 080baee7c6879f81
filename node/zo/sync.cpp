#include "node/zo/sync.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/endian.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"
#include "node/spec/spec.hpp"
#include "node/zo/wire.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kSwarmIdSize = 32;
constexpr std::size_t kRequestSize = kSwarmIdSize + 2 + 16;
constexpr std::uint8_t kRequestV2 = 2;  // checkpoint requests only
constexpr std::uint8_t kRequestV3 = 3;  // checkpoint requests only
constexpr std::uint8_t kRequestV4 = 4;
constexpr std::uint8_t kKindUpdates = 1;
constexpr std::uint8_t kKindCheckpoint = 2;
constexpr std::size_t kSliceHeaderSize = 1 + 8 + 8 + 32;
constexpr std::size_t kMaxAuthor = 64;
constexpr std::size_t kSignatureSize = std::tuple_size_v<crypto::Signature>;
static_assert(kSignedRecordFixed == 1 + kZoMessageSize + 8 + kSignatureSize);
constexpr std::size_t kMaxChunkBytes = kSyncChunkUpdates * (kSignedRecordFixed + kMaxAuthor);
constexpr std::chrono::seconds kSyncTimeout{30};

// The compute thread answers through a callback on the io thread; a coroutine waits for it on a
// timer used as an event.
template <typename T, typename Start>
asio::awaitable<std::optional<T>> await_callback(Start start) {
    auto result = std::make_shared<std::optional<T>>();
    auto ready = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                      asio::steady_timer::time_point::max());
    start([result, ready](T value) {
        *result = std::move(value);
        ready->cancel();
    });
    boost::system::error_code ec;
    co_await ready->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return std::move(*result);
}

// Each writes the whole answer, or returns false when the stream failed under it.
asio::awaitable<bool> send_updates(net::Stream& stream,
                                   std::span<const training::SignedUpdate> all) {
    Bytes count;
    append_be(count, all.size(), 8);
    if (!co_await stream.write_length_prefixed(count)) co_return false;
    for (std::size_t i = 0; i < all.size(); i += kSyncChunkUpdates) {
        auto chunk = all.subspan(i, std::min(kSyncChunkUpdates, all.size() - i));
        if (!co_await stream.write_length_prefixed(encode_sync_records(chunk))) co_return false;
    }
    co_return true;
}

asio::awaitable<bool> send_slice(net::Stream& stream, const std::optional<CheckpointSlice>& slice) {
    Bytes header{static_cast<std::uint8_t>(slice ? 0 : 1)};
    append_be(header, slice ? slice->n_params : 0, 8);
    append_be(header, slice ? slice->update_count : 0, 8);
    if (slice) {
        append(header, slice->model_hash);
    } else {
        header.resize(kSliceHeaderSize, 0);
    }
    if (!co_await stream.write_length_prefixed(header)) co_return false;
    if (slice) {
        const auto& v = slice->values;
        for (std::size_t i = 0; i < v.size(); i += kSyncChunkFloats) {
            const std::size_t n = std::min(kSyncChunkFloats, v.size() - i);
            Bytes chunk(n * sizeof(float));
            for (std::size_t k = 0; k < n; ++k) {
                const auto bits = std::bit_cast<std::uint32_t>(v[i + k]);
                store_le(&chunk[4 * k], bits);
            }
            if (!co_await stream.write_length_prefixed(chunk)) co_return false;
        }
    }
    co_return true;
}

}  // namespace

Bytes encode_sync_records(std::span<const training::SignedUpdate> updates) {
    Bytes out;
    for (const auto& s : updates) {
        out.push_back(static_cast<std::uint8_t>(s.update.author.size()));
        append(out, s.update.author);
        append(out, encode_zo_message(s.update));
        append_be(out, s.signature.seqno, 8);
        append(out, s.signature.bytes);
    }
    return out;
}

Result<std::vector<training::SignedUpdate>> decode_sync_records(ByteSpan bytes) {
    std::vector<training::SignedUpdate> out;
    while (!bytes.empty()) {
        const std::size_t len = bytes[0];
        if (len == 0 || len > kMaxAuthor || bytes.size() < len + kSignedRecordFixed) {
            return net::Errc::truncated_message;
        }
        const auto author_bytes = bytes.subspan(1, len);
        auto id = crypto::PeerId::from_bytes(author_bytes);
        if (!id) return net::Errc::bad_peer_id;
        // Only an id that embeds its key lets the receiver check the signature.
        if (!id.value().public_key()) return net::Errc::bad_peer_id;
        auto u = decode_zo_message(bytes.subspan(1 + len, kZoMessageSize),
                                   Bytes(author_bytes.begin(), author_bytes.end()));
        if (!u) return net::Errc::protocol_error;
        const std::uint8_t* tail = bytes.data() + 1 + len + kZoMessageSize;
        training::SignedUpdate s{std::move(*u), {}};
        s.signature.seqno = load_be(tail, 8);
        std::copy(tail + 8, tail + 8 + kSignatureSize, s.signature.bytes.begin());
        out.push_back(std::move(s));
        bytes = bytes.subspan(len + kSignedRecordFixed);
    }
    return out;
}

Bytes encode_sync_request(ByteSpan swarm_id, const SyncRequest& request) {
    Bytes out(swarm_id.begin(), swarm_id.end());
    out.push_back(kRequestV4);
    if (request.kind == SyncRequest::Kind::updates) {
        out.push_back(kKindUpdates);
        append_be(out, request.after, 8);
        append_be(out, request.through, 8);
    } else {
        out.push_back(kKindCheckpoint);
        append_be(out, request.round, 8);
        append_be(out, request.offset, 4);
        append_be(out, request.count, 4);
    }
    return out;
}

Result<SyncRequest> decode_sync_request(ByteSpan swarm_id, ByteSpan bytes) {
    if (bytes.size() != kRequestSize) return net::Errc::protocol_error;
    if (swarm_id.size() != kSwarmIdSize ||
        !std::equal(swarm_id.begin(), swarm_id.end(), bytes.begin())) {
        return net::Errc::protocol_not_supported;
    }
    const std::uint8_t* p = bytes.data() + kSwarmIdSize;
    SyncRequest r;
    const bool old_checkpoint =
        (p[0] == kRequestV2 || p[0] == kRequestV3) && p[1] == kKindCheckpoint;
    if (p[0] != kRequestV4 && !old_checkpoint) {
        return net::Errc::protocol_not_supported;
    }
    if (p[1] == kKindUpdates) {
        r.after = load_be(p + 2, 8);
        r.through = load_be(p + 10, 8);
        if (r.after > r.through) return net::Errc::protocol_error;
        return r;
    }
    if (p[1] == kKindCheckpoint) {
        r.kind = SyncRequest::Kind::checkpoint;
        r.round = load_be(p + 2, 8);
        r.offset = static_cast<std::uint32_t>(load_be(p + 10, 4));
        r.count = static_cast<std::uint32_t>(load_be(p + 14, 4));
        return r;
    }
    return net::Errc::protocol_not_supported;
}

void serve_sync(net::Host& host, Bytes swarm_id, SyncSource source) {
    using net::Answer;
    net::serve_requests(
        host, std::string(kSyncProtocol), {kRequestSize, kSyncTimeout},
        [swarm_id, source](net::Stream& stream, Bytes bytes) -> asio::awaitable<Answer> {
            auto request = decode_sync_request(swarm_id, bytes);
            if (!request) co_return Answer::refused;
            const auto r = request.value();
            if (r.kind == SyncRequest::Kind::updates) {
                auto updates = co_await await_callback<std::vector<training::SignedUpdate>>(
                    [&](SyncSource::UpdatesDone done) {
                        source.updates(r.after, r.through, std::move(done));
                    });
                if (!updates) co_return Answer::refused;
                const bool sent = co_await send_updates(stream, *updates);
                co_return sent ? Answer::answered : Answer::refused;
            }
            // Named, not a temporary in the co_await expression: GCC 12 mishandles those.
            std::optional<CheckpointSlice> slice;
            if (source.checkpoint) {
                auto answer = co_await await_callback<std::optional<CheckpointSlice>>(
                    [&](SyncSource::SliceDone done) {
                        source.checkpoint(r.round, r.offset, r.count, std::move(done));
                    });
                if (answer) slice = std::move(*answer);
            }
            const bool sent = co_await send_slice(stream, slice);
            co_return sent ? Answer::answered : Answer::refused;
        });
}

asio::awaitable<Result<std::vector<training::SignedUpdate>>> fetch_updates(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, std::uint64_t through,
    std::uint64_t after, UpdatesCheck check) {
    const std::string topic = zo_topic(ByteSpan(swarm_id));
    Bytes request = encode_sync_request(swarm_id, {SyncRequest::Kind::updates, after, through});
    auto stream = co_await net::send_request(host, peer, std::string(kSyncProtocol),
                                             std::move(request), kSyncTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto count_bytes = co_await s.read_length_prefixed(8);
    if (!count_bytes) co_return count_bytes.error();
    if (count_bytes.value().size() != 8) co_return net::Errc::protocol_error;
    const std::uint64_t count = load_be(count_bytes.value().data(), 8);
    if (count > kMaxSyncUpdates) co_return net::Errc::message_too_large;
    std::vector<training::SignedUpdate> out;
    std::set<Bytes> authors;
    std::set<training::Update> seen;  // identity without q
    std::minstd_rand pick(std::random_device{}());
    std::uint64_t received = 0;
    auto refuse = [&](std::error_code why) {
        s.reset();
        return why;
    };
    while (received < count) {
        auto chunk = co_await s.read_length_prefixed(kMaxChunkBytes);
        if (!chunk) co_return chunk.error();
        auto records = decode_sync_records(chunk.value());
        if (!records) co_return refuse(records.error());
        auto& batch = records.value();
        received += batch.size();
        if (received > count) co_return refuse(net::Errc::protocol_error);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto& u = batch[i];
            if (authors.insert(u.update.author).second) {
                if (authors.size() > check.max_authors)
                    co_return refuse(net::Errc::message_too_large);
                if (!verify_update(topic, u)) co_return refuse(net::Errc::bad_signature);
            }
            if (!seen.insert(training::Update{u.update.author, u.update.round, u.update.index, 0})
                     .second)
                co_return refuse(net::Errc::protocol_error);
        }
        for (std::size_t k = 0; k < std::min(check.samples_per_chunk, batch.size()); ++k) {
            const auto& u =
                batch[std::uniform_int_distribution<std::size_t>(0, batch.size() - 1)(pick)];
            if (!verify_update(topic, u)) co_return refuse(net::Errc::bad_signature);
        }
        for (auto& u : batch) {
            if (u.update.round > after && u.update.round <= through) out.push_back(std::move(u));
        }
    }
    co_return out;
}

asio::awaitable<Result<CheckpointSlice>> fetch_checkpoint_slice(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, std::uint64_t round,
    std::uint64_t offset, std::uint64_t count, std::uint64_t expected_params) {
    if (expected_params > kMaxCheckpointParams || offset > expected_params ||
        count > std::numeric_limits<std::uint32_t>::max()) {
        co_return net::Errc::message_too_large;
    }
    SyncRequest request;
    request.kind = SyncRequest::Kind::checkpoint;
    request.round = round;
    request.offset = static_cast<std::uint32_t>(offset);
    request.count = static_cast<std::uint32_t>(count);
    Bytes encoded = encode_sync_request(swarm_id, request);
    auto stream = co_await net::send_request(host, peer, std::string(kSyncProtocol),
                                             std::move(encoded), kSyncTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto header = co_await s.read_length_prefixed(kSliceHeaderSize);
    if (!header) co_return header.error();
    const auto& h = header.value();
    if (h.size() != kSliceHeaderSize || h[0] > 1) co_return net::Errc::protocol_error;
    if (h[0] == 1) co_return net::Errc::protocol_not_supported;
    CheckpointSlice slice;
    slice.round = round;
    slice.offset = offset;
    slice.n_params = load_be(&h[1], 8);
    slice.update_count = load_be(&h[9], 8);
    std::memcpy(slice.model_hash.data(), &h[17], 32);
    if (slice.n_params != expected_params) co_return net::Errc::protocol_error;
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(count, expected_params - offset));
    slice.values.reserve(want);
    while (slice.values.size() < want) {
        auto chunk = co_await s.read_length_prefixed(kSyncChunkFloats * sizeof(float));
        if (!chunk) co_return chunk.error();
        const auto& c = chunk.value();
        if (c.empty() || c.size() % 4 != 0 || slice.values.size() + c.size() / 4 > want) {
            co_return net::Errc::protocol_error;
        }
        for (std::size_t i = 0; i < c.size(); i += 4) {
            std::uint32_t bits = 0;
            for (int b = 3; b >= 0; --b) bits = bits << 8 | c[i + static_cast<std::size_t>(b)];
            slice.values.push_back(std::bit_cast<float>(bits));
        }
    }
    co_return slice;
}

}  // namespace swarmd::node
