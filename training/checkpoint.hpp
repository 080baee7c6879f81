#pragma once
// Checkpoints for joining without the whole history. A checkpoint holds the canonical model
// after every update with round <= through_round, so checkpoint + canonical replay of the log
// suffix (rounds > through_round) equals canonical replay from genesis.
//
// File: "SWDCKPT1" | u64le through_round | u64le update_count | u64le n_params | model hash (32)
//       | params (f32le) | SHA-256 of everything before it (32). Written atomically.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "training/zo.hpp"

namespace swarmd::training {

struct Checkpoint {
    std::uint64_t through_round = 0;
    std::uint64_t update_count = 0;  // updates it covers
    crypto::Digest model_hash{};
    std::vector<float> params;
};

// Canonical state covering the updates with round <= through_round.
Checkpoint make_checkpoint(std::span<const float> init, const std::vector<Update>& updates,
                           std::uint64_t through_round, const ApplyRule& rule);

std::error_code save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt);

// Refuses a file whose size, integrity hash or model hash is wrong, or whose parameter count
// is not expected_params.
Result<Checkpoint> load_checkpoint(const std::filesystem::path& path, std::size_t expected_params);

// The join path: the checkpoint's parameters plus canonical replay of the updates after it.
std::vector<float> join_from_checkpoint(const Checkpoint& ckpt, const std::vector<Update>& log,
                                        const ApplyRule& rule);

}  // namespace swarmd::training
