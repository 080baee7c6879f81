#pragma once
// Zeroth-order one-byte training (SPSA/MeZO as in "Just One Byte (per gradient)").
//
// An update is (author, round, index, q). Its direction z is the perturbation stream of
// crypto/perturbation.hpp keyed by (swarm id, author, round, index), read at the parameter's flat
// offset. Applying it: theta <- theta - c * z with c = (float)(lr * scale * q) computed in double.
// Every node applies every update; applied in canonical order (round, author bytes, index) the
// result is bit-identical everywhere.
#include <compare>
#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "crypto/perturbation.hpp"
#include "training/task.hpp"

namespace swarmd::training {

struct ZoOptions {
    static constexpr float kDefaultEps = 1e-3f;
    static constexpr float kDefaultLr = 2e-3f;
    static constexpr float kDefaultScale = 0.02f;
    static constexpr std::uint32_t kDefaultDirections = 1;
    static constexpr std::uint32_t kDefaultBatch = 64;
    static constexpr ZDist kDefaultDist = ZDist::rademacher;

    float eps = kDefaultEps;                        // perturbation size
    float lr = kDefaultLr;                          // applied per update
    float scale = kDefaultScale;                    // one-byte codec step: g ~ scale * q
    std::uint32_t directions = kDefaultDirections;  // n-SPSA: one update per direction
    std::uint32_t batch = kDefaultBatch;
    ZDist dist = kDefaultDist;
};

struct Update {
    Bytes author;  // peer id bytes
    std::uint64_t round = 0;
    std::uint32_t index = 0;  // direction within the author's round
    std::int8_t q = 0;
    std::uint64_t ticket = 0;  // the author's work ticket (training/author_ticket.hpp)

    // Canonical order: (round, author bytes, index); q and the ticket are not part of the
    // identity.
    friend std::strong_ordering operator<=>(const Update& a, const Update& b) noexcept;
    friend bool operator==(const Update& a, const Update& b) noexcept = default;
};

void sort_canonical(std::vector<Update>& updates);

// What every node of a swarm shares to turn an update into a parameter change.
struct ApplyRule {
    Bytes swarm_id;
    ZDist dist = ZoOptions::kDefaultDist;
    float lr = ZoOptions::kDefaultLr;
    float scale = ZoOptions::kDefaultScale;
};

crypto::PerturbationStream direction_stream(ByteSpan swarm_id, const Update& u);
void fill_direction(const crypto::PerturbationStream& s, ZDist dist, std::uint64_t offset,
                    std::span<float> out);

// One-byte codec: q = clamp(floor(g / scale + u), -127, 127) with u in [0, 1) the first uniform
// of the rounding stream (swarm id, author, round, index), so E[scale * q] = g when not clipped
// and anyone can recompute the author's rounding.
struct Quantized {
    std::int8_t q = 0;
    bool clipped = false;
};
Quantized quantize(double g, float scale, double u) noexcept;
double rounding_uniform(ByteSpan swarm_id, ByteSpan author, std::uint64_t round,
                        std::uint32_t index);

inline constexpr std::size_t kApplyBlock = 4096;  // parameters per block of the fused pass

// Applies `updates` in the given order in one pass over theta, block by block, generating each
// update's stream for the block (cache-friendly). Per parameter the operations are exactly those
// of applying the updates one full pass at a time, so the result is bit-identical to that.
void apply_updates(std::span<float> theta, std::span<const Update> updates, const ApplyRule& rule,
                   std::size_t block = kApplyBlock);
// theta -= c * z(u) with an explicit coefficient instead of lr * scale * q: the fp32-gradient
// baseline that the one-byte codec is measured against (not part of the protocol).
void apply_direction(std::span<float> theta, ByteSpan swarm_id, const Update& u, ZDist dist,
                     float c);
// Reference: one full pass per update (what the fused pass replaces).
void apply_updates_separately(std::span<float> theta, std::span<const Update> updates,
                              const ApplyRule& rule);

// Canonical replay: sorts a copy of `updates` canonically and applies it to `params`.
void replay(std::span<float> params, std::vector<Update> updates, const ApplyRule& rule);

struct StepResult {
    std::vector<Update> updates;    // one per direction
    std::vector<double> projected;  // fp32-path projected gradients g, one per direction
    double loss = 0.0;              // mean of (L+ + L-) / 2 over directions
    std::uint32_t clipped = 0;
};

// One ZO step: for each direction i, L+/- = loss(theta +/- eps z_i) on `batch`,
// g = (L+ - L-) / (2 eps), q = quantize(g). theta is only read: each layer is perturbed into the
// task's scratch buffer as the forward pass reaches it.
StepResult zo_step(const Task& task, std::span<const float> theta, ByteSpan swarm_id,
                   ByteSpan author, std::uint64_t round, std::span<const std::uint32_t> batch,
                   const ZoOptions& options);

}  // namespace swarmd::training
