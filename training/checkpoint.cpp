#include "training/checkpoint.hpp"

#include <cstring>

#include "base/endian.hpp"
#include "base/file.hpp"
#include "training/error.hpp"
#include "training/params.hpp"

namespace swarmd::training {

namespace {

constexpr char kMagic[8] = {'S', 'W', 'D', 'C', 'K', 'P', 'T', '1'};
constexpr std::size_t kHeader = 8 + 8 + 8 + 8 + 32;

}  // namespace

Checkpoint make_checkpoint(std::span<const float> init, const std::vector<Update>& updates,
                           std::uint64_t through_round, const ApplyRule& rule) {
    Checkpoint c;
    c.through_round = through_round;
    c.params.assign(init.begin(), init.end());
    std::vector<Update> covered;
    for (const auto& u : updates) {
        if (u.round <= through_round) covered.push_back(u);
    }
    c.update_count = covered.size();
    replay(c.params, std::move(covered), rule);
    c.model_hash = model_hash(c.params);
    return c;
}

std::error_code save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt) {
    Bytes out(kMagic, kMagic + 8);
    append_le<std::uint64_t>(out, ckpt.through_round);
    append_le<std::uint64_t>(out, ckpt.update_count);
    append_le<std::uint64_t>(out, ckpt.params.size());
    append(out, ckpt.model_hash);
    const auto* p = reinterpret_cast<const std::uint8_t*>(ckpt.params.data());
    out.insert(out.end(), p, p + ckpt.params.size() * sizeof(float));
    append(out, crypto::sha256(out));
    return write_file_atomic(path, out, 0600);
}

Result<Checkpoint> load_checkpoint(const std::filesystem::path& path, std::size_t expected_params) {
    const std::size_t expected_size = kHeader + expected_params * sizeof(float) + 32;
    Bytes data;
    if (auto ec = read_file(path, data, expected_size); ec) {
        return ec == std::errc::file_too_large ? make_error_code(Errc::checkpoint_mismatch)
                                               : make_error_code(Errc::io);
    }
    if (data.size() < kHeader + 32 || std::memcmp(data.data(), kMagic, 8) != 0) {
        return make_error_code(Errc::bad_checkpoint);
    }
    const auto body = ByteSpan(data).first(data.size() - 32);
    const auto digest = crypto::sha256(body);
    if (std::memcmp(digest.data(), data.data() + body.size(), 32) != 0) {
        return make_error_code(Errc::bad_checkpoint);
    }
    Checkpoint c;
    c.through_round = load_le<std::uint64_t>(&data[8]);
    c.update_count = load_le<std::uint64_t>(&data[16]);
    if (load_le<std::uint64_t>(&data[24]) != expected_params || data.size() != expected_size) {
        return make_error_code(Errc::checkpoint_mismatch);
    }
    std::memcpy(c.model_hash.data(), &data[32], 32);
    c.params.resize(expected_params);
    std::memcpy(c.params.data(), &data[kHeader], expected_params * sizeof(float));
    if (model_hash(c.params) != c.model_hash) return make_error_code(Errc::bad_checkpoint);
    return c;
}

std::vector<float> join_from_checkpoint(const Checkpoint& ckpt, const std::vector<Update>& log,
                                        const ApplyRule& rule) {
    std::vector<float> params = ckpt.params;
    std::vector<Update> suffix;
    for (const auto& u : log) {
        if (u.round > ckpt.through_round) suffix.push_back(u);
    }
    replay(params, std::move(suffix), rule);
    return params;
}

}  // namespace swarmd::training
