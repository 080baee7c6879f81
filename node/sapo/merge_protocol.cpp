#include "node/sapo/merge_protocol.hpp"

#include <bit>
#include <cstring>

#include "net/error.hpp"
#include "net/host.hpp"
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

class MergeCategory : public std::error_category {
  public:
    const char* name() const noexcept override { return "merge"; }
    std::string message(int c) const override {
        switch (static_cast<MergeErrc>(c)) {
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
        return "unknown merge error";
    }
};

void put_u64(Bytes& out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_u64(ByteSpan in) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | in[i];
    return v;
}

Bytes request(const Bytes& swarm_id, std::uint8_t kind, ByteSpan body = {}) {
    Bytes out = swarm_id;
    out.push_back(kind);
    append(out, body);
    return out;
}

}  // namespace

const std::error_category& merge_category() noexcept {
    static const MergeCategory category;
    return category;
}

crypto::Digest weights_hash(std::string_view policy, std::span<const float> weights) {
    crypto::Sha256 h;
    h.update(as_bytes("swarmd/sapo-weights/v1"));
    const std::uint8_t len = static_cast<std::uint8_t>(std::min<std::size_t>(policy.size(), 255));
    h.update(ByteSpan(&len, 1)).update(as_bytes(policy.substr(0, len)));
    Bytes count;
    put_u64(count, weights.size());
    h.update(count);
    h.update(ByteSpan(reinterpret_cast<const std::uint8_t*>(weights.data()), weights.size_bytes()));
    return h.finish();
}

Bytes encode_commitment(const WeightsCommitment& c) {
    Bytes out;
    put_u64(out, c.round);
    append(out, c.hash);
    put_u64(out, c.parameters);
    append(out, as_bytes(c.policy));
    return out;
}

Result<WeightsCommitment> decode_commitment(ByteSpan bytes) {
    if (bytes.size() <= kCommitmentFixed || bytes.size() > kCommitmentFixed + kMaxPolicyNameBytes) {
        return MergeErrc::malformed_response;
    }
    WeightsCommitment c;
    c.round = get_u64(bytes);
    std::memcpy(c.hash.data(), bytes.data() + 8, 32);
    c.parameters = get_u64(bytes.subspan(40));
    c.policy.assign(bytes.begin() + kCommitmentFixed, bytes.end());
    return c;
}

void serve_merge(net::Host& host, Bytes swarm_id, MergeServer server) {
    host.set_handler(
        std::string(kMergeProtocol),
        [swarm_id, server](std::shared_ptr<net::Stream> stream) -> asio::awaitable<void> {
            stream->set_deadline(std::chrono::steady_clock::now() + kMergeExchangeTimeout);
            auto req = co_await stream->read_length_prefixed(kMaxRequest);
            const bool ours = req && req.value().size() > kSwarmIdSize &&
                              std::equal(swarm_id.begin(), swarm_id.end(), req.value().begin());
            if (!ours) {
                stream->reset();
                co_return;
            }
            const ByteSpan body = ByteSpan(req.value()).subspan(kSwarmIdSize + 1);
            const std::uint8_t kind = req.value()[kSwarmIdSize];
            if (kind == kCommitmentRequest && body.empty()) {
                const auto c = server.commitment ? server.commitment() : std::nullopt;
                Bytes response{c ? kOk : kNone};
                if (c) append(response, encode_commitment(*c));
                if (co_await stream->write_length_prefixed(response)) stream->close_write();
                co_return;
            }
            if (kind != kWeightsRequest || body.size() != 32) {
                stream->reset();
                co_return;
            }
            crypto::Digest hash;
            std::memcpy(hash.data(), body.data(), 32);
            // Held by shared pointer: the coroutine keeps the weights alive while it writes.
            const SharedWeights weights = server.weights ? server.weights(hash) : nullptr;
            Bytes header{weights ? kOk : kNone};
            put_u64(header, weights ? weights->size() : 0);
            if (!co_await stream->write_length_prefixed(header)) co_return;
            if (weights) {
                std::span<const float> all(*weights);
                for (std::size_t i = 0; i < all.size(); i += kMergeChunkFloats) {
                    const auto chunk = all.subspan(i, std::min(kMergeChunkFloats, all.size() - i));
                    const ByteSpan raw(reinterpret_cast<const std::uint8_t*>(chunk.data()),
                                       chunk.size_bytes());
                    if (!co_await stream->write_length_prefixed(raw)) co_return;
                }
            }
            stream->close_write();
        });
}

asio::awaitable<Result<WeightsCommitment>> fetch_commitment(net::Host& host,
                                                            const crypto::PeerId& peer,
                                                            Bytes swarm_id) {
    auto stream = co_await host.open_stream(peer, std::string(kMergeProtocol));
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    s.set_deadline(std::chrono::steady_clock::now() + kMergeExchangeTimeout);
    if (auto w = co_await s.write_length_prefixed(request(swarm_id, kCommitmentRequest)); !w)
        co_return w.error();
    s.close_write();
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
    auto stream = co_await host.open_stream(peer, std::string(kMergeProtocol));
    if (!stream) co_return stream.error();
    auto& s = *stream.value();
    s.set_deadline(std::chrono::steady_clock::now() + kMergeExchangeTimeout);
    if (auto w = co_await s.write_length_prefixed(request(swarm_id, kWeightsRequest, hash)); !w) {
        co_return w.error();
    }
    s.close_write();
    auto header = co_await s.read_length_prefixed(9);
    if (!header) co_return header.error();
    if (header.value().size() != 9) co_return MergeErrc::malformed_response;
    if (header.value()[0] == kNone) co_return MergeErrc::not_held;
    if (header.value()[0] != kOk) co_return MergeErrc::malformed_response;
    // The count is checked against our own architecture before anything is allocated.
    if (get_u64(ByteSpan(header.value()).subspan(1)) != parameters)
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
