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

}  // namespace

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

void serve_merge(net::Host& host, Bytes swarm_id, MergeServer server) {
    using net::Answer;
    net::serve_requests(
        host, std::string(kMergeProtocol), {kMaxMergeRequest, kMergeExchangeTimeout},
        [swarm_id, server](net::Stream& stream, Bytes req) -> asio::awaitable<Answer> {
            const auto request = decode_merge_request(req, swarm_id);
            if (!request) co_return Answer::refused;
            if (request.value().kind == MergeRequestKind::commitment) {
                const auto c = server.commitment ? server.commitment() : std::nullopt;
                const auto written =
                    co_await stream.write_length_prefixed(encode_commitment_response(c));
                co_return written ? Answer::answered : Answer::refused;
            }
            const crypto::Digest& hash = request.value().hash;
            // Held by shared pointer: the coroutine keeps the weights alive while it writes.
            const SharedWeights weights = server.weights ? server.weights(hash) : nullptr;
            const Bytes header = encode_weights_header(
                weights ? std::optional<std::uint64_t>(weights->size()) : std::nullopt);
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
    Bytes req = encode_merge_request(swarm_id, {MergeRequestKind::commitment, {}});
    auto stream = co_await net::send_request(host, peer, std::string(kMergeProtocol),
                                             std::move(req), kMergeExchangeTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto response = co_await s.read_length_prefixed(kMaxCommitmentResponse);
    if (!response) co_return response.error();
    co_return decode_commitment_response(response.value());
}

asio::awaitable<Result<std::vector<float>>> fetch_weights(
    net::Host& host, const crypto::PeerId& peer, Bytes swarm_id, const crypto::Digest& hash,
    std::string policy, std::uint64_t parameters) {
    Bytes req = encode_merge_request(swarm_id, {MergeRequestKind::weights, hash});
    auto stream = co_await net::send_request(host, peer, std::string(kMergeProtocol),
                                             std::move(req), kMergeExchangeTimeout);
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    auto header = co_await s.read_length_prefixed(kWeightsHeaderSize);
    if (!header) co_return header.error();
    // The count is checked against our own architecture before anything is allocated.
    if (auto checked = check_weights_header(header.value(), parameters); !checked)
        co_return checked.error();
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
