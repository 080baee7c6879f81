#pragma once
// What a training task is to the optimisers (training/zo.hpp, the backprop baseline): a loss
// and an evaluation over the flat parameter store, optionally at theta + eps * z. The models
// that implement it are in training/models.hpp.
#include <cmath>
#include <cstdint>
#include <span>

#include "crypto/perturbation.hpp"
#include "training/params.hpp"

namespace swarmd::training {

// The distribution of the perturbation directions z.
enum class ZDist : std::uint8_t { rademacher, gaussian };

struct Perturbation {
    crypto::PerturbationStream stream;
    ZDist dist = ZDist::rademacher;
    float eps = 0.0f;  // signed: theta + eps * z
};

struct Metrics {
    double loss = 0.0;                 // mean cross-entropy on the held-out split (nats)
    double accuracy = std::nan("");    // classifiers only
    double perplexity = std::nan("");  // language models only: exp(loss)
};

class Task {
  public:
    virtual ~Task() = default;
    virtual const ParamLayout& layout() const = 0;
    virtual std::size_t train_size() const = 0;
    // Mean loss over training examples `batch` at theta (+ eps z when p is given). Uses a
    // scratch buffer: one call at a time per Task.
    virtual double loss(std::span<const float> theta, std::span<const std::uint32_t> batch,
                        const Perturbation* p = nullptr) const = 0;
    virtual Metrics evaluate(std::span<const float> theta) const = 0;
    // Backprop SGD step (the baseline ZO is compared with); returns the batch loss.
    virtual double backprop_step(std::span<float> theta, std::span<const std::uint32_t> batch,
                                 float lr) const = 0;
};

}  // namespace swarmd::training
