#include "node/sapo/merge_protocol.hpp"

#include <bit>
#include <cstring>

#include "base/endian.hpp"
#include "net/error.hpp"
#include "net/host.hpp"
#include "net/request.hpp"
#include "net/stream.hpp"
#include "node/spec/spec.hpp"

namespace swarmd::node {
namespace asio = boost::asio;

namespace {

static_assert(std::endian::native == std::endian::little, "weights travel as little-endian floats");

constexpr std::uint8_t kCommitmentRequest = 1;
constexpr std::uint8_t kWeightsRequest = 2;
constexpr std::uint8_t kOk = 0;
constexpr std::uint8_t kNone = 1;
constexpr std::size_t kSwarmIdSize = 32;
constexpr std::size_t kMaxRequest = kSwarmIdSize + 1 + 32;
constexpr std::size_t kCommitmentFixed = 8 + 32 + 8;
constexpr std::size_t kMaxCommitmentResponse = 1 + kCommitmentFixed + kMaxPolicyNameBytes;

const char* describe(MergeErrc e) noexcept {
    switch (e) {
        case MergeErrc::bad_request:
            return "bad merge request";
        case MergeErrc::not_committed:
            return "the peer has not committed to merge weights";
        case MergeErrc::not_held:
            return "the peer does not hold those weights";
        case MergeErrc::malformed_response:
            return "malformed merge response";
        case MergeErrc::size_mismatch:
            return "weights of another architecture";
        case MergeErrc::hash_mismatch:
            return "weights do not match their commitment";
    }
    return nullptr;
}

Bytes request(const Bytes& swarm_id, std::uint8_t kind, ByteSpan body = {}) {
    Bytes out = swarm_id;
    out.push_back(kind);
    append(out, body);
    return out;
}

}  // namespace

const std::error_category& merge_category() noexcept {
    static const EnumCategory<MergeErrc> category("merge", describe);
    return category;
}

crypto::Digest weights_hash(std::string_view policy, std::span<const float> weights) {
    crypto::Sha256 h;
    h.update(as_bytes("swarmd/sapo-weights/v1"));
    const std::uint8_t len = static_cast<std::uint8_t>(std::min<std::size_t>(policy.size(), 255));
    h.update(ByteSpan(&len, 1)).update(as_bytes(policy.substr(0, len)));
    Bytes count;
    append_be(count, std::uint64_t{weights.size()});
    h.update(count);
    h.update(ByteSpan(reinterpret_cast<const std::uint8_t*>(weights.data()), weights.size_bytes()));
    return h.finish();
}

Bytes encode_commitment(const WeightsCommitment& c) {
    Bytes out;
    append_be<std::uint64_t>(out, c.round);
    append(out, c.hash);
    append_be<std::uint64_t>(out, c.parameters);
    append(out, as_bytes(c.policy));
    return out;
}

Result<WeightsCommitment> decode_commitment(ByteSpan bytes) {
    if (bytes.size() <= kCommitmentFixed || bytes.size() > kCommitmentFixed + kMaxPolicyNameBytes) {
        return MergeErrc::malformed_response;
    }
    WeightsCommitment c;
    c.round = load_be<std::uint64_t>(bytes.data());
    std::memcpy(c.hash.data(), bytes.data() + 8, 32);
    c.parameters = load_be<std::uint64_t>(&bytes[40]);
    c.policy.assign(bytes.begin() + kCommitmentFixed, bytes.end());
    return c;
}

void serve_merge(net::Host& host, Bytes swarm_id, MergeServer server) {
    using net::Answer;
    net::serve_requests(
        host, std::string(kMergeProtocol), {kMaxRequest, kMergeExchangeTimeout},
        [swarm_id, server](net::Stream& stream, Bytes req) -> asio::awaitable<Answer> {
            const bool ours = req.size() > kSwarmIdSize &&
                              std::equal(swarm_id.begin(), swarm_id.end(), req.begin());
            if (!ours) co_return Answer::refused;
            const ByteSpan body = ByteSpan(req).subspan(kSwarmIdSize + 1);
            const std::uint8_t kind = req[kSwarmIdSize];
            if (kind == kCommitmentRequest && body.empty()) {
                const auto c = server.commitment ? server.commitment() : std::nullopt;
                Bytes response{c ? kOk : kNone};
                if (c) append(response, encode_commitment(*c));
                const auto written = co_await stream.write_length_prefixed(response);
                co_return written ? Answer::answered : Answer::refused;
            }
            if (kind != kWeightsRequest || body.size() != 32) co_return Answer::refused;
            crypto::Digest hash;
            std::memcpy(hash.data(), body.data(), 32);
            // Held by shared pointer: the coroutine keeps the weights alive while it writes.
            const SharedWeights weights = server.weights ? server.weights(hash) : nullptr;
            Bytes header{weights ? kOk : kNone};
            append_be(header, std::uint64_t{weights ? weights->size() : 0});
            if (!co_await stream.write_length_prefixed(header)) co_return Answer::refused;
            if (weights) {
                std::span<const float> all(*weights);
                for (std::size_t i = 0; i < all.size(); i += kMergeChunkFloats) {
                    const auto chunk = all.subspan(i, std::min(kMergeChunkFloats, all.size() - i));
                    const ByteSpan raw(reinterpret_cast<const std::uint8_t*>(chunk.data()),
                                       chunk.size_bytes());
                    if (!co_await stream.write_length_prefixed(raw)) co_return Answer::refused;
                }
            }
            co_return Answer::answered;
        });
}

asio::awaitable<Result<WeightsCommitment>> fetch_commitment(net::Host& host,
                                                            const crypto::PeerId& peer,
                                                            Bytes swarm_id) {
    Bytes req = request(swarm_id, kCommitmentRequest);
    auto stream = co_await net::send_request(host, peer, std::string(kMergeProtocol),
                                             std::move(req), kMergeExchangeTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto response = co_await s.read_length_prefixed(kMaxCommitmentResponse);
    if (!response) co_return response.error();
    const Bytes& r = response.value();
    if (r.empty()) co_return MergeErrc::malformed_response;
    if (r[0] == kNone && r.size() == 1) co_return MergeErrc::not_committed;
    if (r[0] != kOk) co_return MergeErrc::malformed_response;
    co_return decode_commitment(ByteSpan(r).subspan(1));
}

asio::awaitable<Result<std::vector<float>>> fetch_weights(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, const crypto::Digest& hash,
    std::string policy, std::uint64_t parameters) {
    Bytes req = request(swarm_id, kWeightsRequest, hash);
    auto stream = co_await net::send_request(host, peer, std::string(kMergeProtocol),
                                             std::move(req), kMergeExchangeTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto header = co_await s.read_length_prefixed(9);
    if (!header) co_return header.error();
    if (header.value().size() != 9) co_return MergeErrc::malformed_response;
    if (header.value()[0] == kNone) co_return MergeErrc::not_held;
    if (header.value()[0] != kOk) co_return MergeErrc::malformed_response;
    // The count is checked against our own architecture before anything is allocated.
    if (load_be<std::uint64_t>(&header.value()[1]) != parameters)
        co_return MergeErrc::size_mismatch;
    std::vector<float> out(parameters);
    std::size_t received = 0;
    while (received < parameters) {
        const std::size_t want = std::min<std::size_t>(kMergeChunkFloats, parameters - received);
        auto chunk = co_await s.read_length_prefixed(want * sizeof(float));
        if (!chunk) co_return chunk.error();
        if (chunk.value().size() != want * sizeof(float)) co_return MergeErrc::malformed_response;
        std::memcpy(out.data() + received, chunk.value().data(), chunk.value().size());
        received += want;
    }
    if (weights_hash(policy, out) != hash) co_return MergeErrc::hash_mismatch;
    co_return out;
}

}  // namespace swarmd::node
