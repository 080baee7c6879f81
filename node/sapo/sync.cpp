#include "node/sapo/sync.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/endian.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

static_assert(std::endian::native == std::endian::little, "weights travel as little-endian floats");

constexpr std::size_t kSwarmIdSize = 32;
constexpr std::chrono::milliseconds kIdlePoll{20};

const char* describe(SapoSyncErrc e) noexcept {
    switch (e) {
        case SapoSyncErrc::malformed_request:
            return "malformed base policy request";
        case SapoSyncErrc::malformed_response:
            return "malformed base policy response";
        case SapoSyncErrc::not_held:
            return "the peer does not hold that base policy";
        case SapoSyncErrc::bad_range:
            return "slice outside the base policy";
        case SapoSyncErrc::size_mismatch:
            return "base policy of another size than announced";
        case SapoSyncErrc::hash_mismatch:
            return "base policy does not match the announced hash";
        case SapoSyncErrc::no_holder:
            return "no holder could serve the base policy";
    }
    return nullptr;
}

ByteSpan float_bytes(std::span<const float> values) {
    return {reinterpret_cast<const std::uint8_t*>(values.data()), values.size_bytes()};
}

asio::awaitable<Result<std::vector<float>>> fetch_slice(net::Host& host, const crypto::PeerId& peer,
                                                        const Bytes& swarm_id,
                                                        const SliceRequest& slice,
                                                        std::uint64_t total) {
    Bytes request = encode_slice_request(swarm_id, slice);
    auto stream = co_await net::send_request(host, peer, std::string(kSapoSyncProtocol),
                                             std::move(request), kSliceTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto response =
        co_await s.read_length_prefixed(kSliceResponseHeader + slice.count * sizeof(float));
    if (!response) co_return response.error();
    co_return decode_slice_response(response.value(), slice, total);
}

}  // namespace

const std::error_category& sapo_sync_category() noexcept {
    static const EnumCategory<SapoSyncErrc> category("sapo-sync", describe);
    return category;
}

Bytes encode_slice_request(ByteSpan swarm_id, const SliceRequest& r) {
    Bytes out(swarm_id.begin(), swarm_id.end());
    append(out, r.hash);
    append_be<std::uint64_t>(out, r.offset);
    append_be<std::uint64_t>(out, r.count);
    return out;
}

Result<SliceRequest> decode_slice_request(ByteSpan bytes, ByteSpan swarm_id) {
    if (bytes.size() != kSliceRequestSize || swarm_id.size() != kSwarmIdSize ||
        !std::equal(swarm_id.begin(), swarm_id.end(), bytes.begin())) {
        return SapoSyncErrc::malformed_request;
    }
    SliceRequest r;
    std::memcpy(r.hash.data(), bytes.data() + kSwarmIdSize, r.hash.size());
    r.offset = load_be<std::uint64_t>(&bytes[64]);
    r.count = load_be<std::uint64_t>(&bytes[72]);
    if (r.count == 0 || r.count > kMaxSliceFloats || r.offset > kMaxBaseParameters)
        return SapoSyncErrc::malformed_request;
    return r;
}

Bytes encode_slice_response(SliceStatus status, std::uint64_t total,
                            std::span<const float> values) {
    Bytes out{static_cast<std::uint8_t>(status)};
    append_be<std::uint64_t>(out, total);
    if (status == SliceStatus::ok) append(out, float_bytes(values));
    return out;
}

Result<std::vector<float>> decode_slice_response(ByteSpan bytes, const SliceRequest& asked,
                                                 std::uint64_t total) {
    if (bytes.size() < kSliceResponseHeader) return SapoSyncErrc::malformed_response;
    const auto status = bytes[0];
    const auto their_total = load_be<std::uint64_t>(&bytes[1]);
    if (status == static_cast<std::uint8_t>(SliceStatus::not_held) &&
        bytes.size() == kSliceResponseHeader) {
        return SapoSyncErrc::not_held;
    }
    if (status == static_cast<std::uint8_t>(SliceStatus::bad_range) &&
        bytes.size() == kSliceResponseHeader) {
        return SapoSyncErrc::bad_range;
    }
    if (status != static_cast<std::uint8_t>(SliceStatus::ok))
        return SapoSyncErrc::malformed_response;
    if (their_total != total) return SapoSyncErrc::size_mismatch;
    // `asked` is ours, so its count is already bounded; the body must be exactly that.
    if (asked.count > kMaxSliceFloats ||
        bytes.size() != kSliceResponseHeader + asked.count * sizeof(float)) {
        return SapoSyncErrc::malformed_response;
    }
    std::vector<float> values(asked.count);
    std::memcpy(values.data(), bytes.data() + kSliceResponseHeader, values.size() * sizeof(float));
    return values;
}

std::vector<SliceRequest> plan_slices(const crypto::Digest& hash, std::uint64_t total,
                                      std::size_t holders) {
    const std::uint64_t wanted = std::max<std::uint64_t>(1, holders) * kSlicesPerHolder;
    const std::uint64_t size =
        std::clamp<std::uint64_t>((total + wanted - 1) / wanted, kMinSliceFloats, kMaxSliceFloats);
    std::vector<SliceRequest> slices;
    for (std::uint64_t offset = 0; offset < total; offset += size)
        slices.push_back({hash, offset, std::min(size, total - offset)});
    return slices;
}

std::optional<AgreedBase> agree_on_base(const std::map<crypto::PeerId, BaseAnnouncement>& beats,
                                        const std::string& policy, std::size_t min_agree) {
    std::map<std::pair<crypto::Digest, std::uint64_t>, std::vector<crypto::PeerId>> votes;
    for (const auto& [peer, a] : beats) {
        if (a.policy != policy || !a.hash || a.parameters == 0 ||
            a.parameters > kMaxBaseParameters) {
            continue;
        }
        votes[{*a.hash, a.parameters}].push_back(peer);
    }
    std::optional<AgreedBase> best;
    for (auto& [key, peers] : votes) {
        if (peers.size() < std::max<std::size_t>(1, min_agree)) continue;
        if (best && best->holders.size() >= peers.size()) continue;
        best = AgreedBase{key.first, key.second, std::move(peers)};
    }
    return best;
}

void serve_base(net::Host& host, Bytes swarm_id, BaseLookup lookup) {
    net::serve_requests(
        host, std::string(kSapoSyncProtocol), {kSliceRequestSize, kSliceTimeout},
        [swarm_id, lookup](net::Stream& stream, Bytes req) -> asio::awaitable<net::Answer> {
            auto slice = decode_slice_request(req, swarm_id);
            if (!slice) co_return net::Answer::refused;
            const auto& r = slice.value();
            // Held by shared pointer: the weights stay alive while they are written.
            const SharedWeights weights = lookup ? lookup(r.hash) : nullptr;
            Bytes response;
            if (!weights) {
                response = encode_slice_response(SliceStatus::not_held, 0, {});
            } else if (r.offset >= weights->size() || r.count > weights->size() - r.offset) {
                response = encode_slice_response(SliceStatus::bad_range, weights->size(), {});
            } else {
                response = encode_slice_response(
                    SliceStatus::ok, weights->size(),
                    std::span<const float>(*weights).subspan(r.offset, r.count));
            }
            const auto written = co_await stream.write_length_prefixed(response);
            co_return written ? net::Answer::answered : net::Answer::refused;
        });
}

asio::awaitable<Result<BaseFetchResult>> fetch_base(net::Host& host, Bytes swarm_id,
                                                    crypto::Digest hash, std::string policy,
                                                    std::uint64_t parameters,
                                                    std::vector<crypto::PeerId> holders) {
    if (parameters == 0 || parameters > kMaxBaseParameters) co_return SapoSyncErrc::size_mismatch;
    if (holders.empty()) co_return SapoSyncErrc::no_holder;
    // One worker per holder takes slices from a shared queue; a holder that fails a slice puts
    // it back and stops, so the others finish its share. The last worker wakes the waiter.
    struct State {
        explicit State(asio::any_io_executor ex) : done(ex) {}
        BaseFetchResult result;
        std::deque<SliceRequest> todo;
        std::size_t missing = 0;
        std::size_t workers = 0;
        std::size_t in_flight = 0;
        std::error_code last_error = SapoSyncErrc::no_holder;
        asio::steady_timer done;
    };
    auto ex = co_await asio::this_coro::executor;
    auto state = std::make_shared<State>(ex);
    state->result.weights.resize(parameters);
    for (const auto& s : plan_slices(hash, parameters, holders.size())) state->todo.push_back(s);
    state->missing = state->todo.size();
    state->workers = holders.size();
    state->done.expires_at(asio::steady_timer::time_point::max());
    for (const auto& holder : holders) {
        asio::co_spawn(
            ex,
            [&host, state, holder, swarm_id, parameters]() -> asio::awaitable<void> {
                asio::steady_timer idle(co_await asio::this_coro::executor);
                while (state->missing > 0) {
                    if (state->todo.empty()) {
                        // Another holder's slice is in flight and may come back to the queue.
                        if (state->in_flight == 0) break;
                        idle.expires_after(kIdlePoll);
                        co_await idle.async_wait(asio::use_awaitable);
                        continue;
                    }
                    const auto slice = state->todo.front();
                    state->todo.pop_front();
                    ++state->in_flight;
                    auto got = co_await fetch_slice(host, holder, swarm_id, slice, parameters);
                    --state->in_flight;
                    if (!got) {
                        state->last_error = got.error();
                        state->todo.push_back(slice);
                        break;
                    }
                    std::memcpy(state->result.weights.data() + slice.offset, got.value().data(),
                                got.value().size() * sizeof(float));
                    ++state->result.slices_from[holder];
                    --state->missing;
                }
                if (--state->workers == 0) state->done.cancel();
            },
            [state](std::exception_ptr e) {
                // A worker that threw still counts as finished, so the waiter never hangs.
                if (e && --state->workers == 0) state->done.cancel();
            });
    }
    if (state->workers > 0) {
        boost::system::error_code ec;  // operation_aborted: the last worker is done
        co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (state->missing > 0) co_return state->last_error;
    if (weights_hash(policy, state->result.weights) != hash) co_return SapoSyncErrc::hash_mismatch;
    co_return std::move(state->result);
}

}  // namespace swarmd::node
