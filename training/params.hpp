#pragma once
// The flat parameter store every model reads: one contiguous float vector, tensors at fixed
// offsets in a fixed order. ZO updates address parameters by their flat offset, the model hash
// covers them in this order, and initialisation is drawn from the seeded init stream, so a model
// is a pure function of (spec, set of updates) on every platform.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "crypto/hash.hpp"

namespace swarmd::training {

struct TensorSpec {
    std::string name;
    std::vector<std::int64_t> shape;
    std::size_t offset = 0;  // in floats, into the flat store
    std::size_t size = 0;    // product of shape
    float init_std = 0.0f;   // Gaussian init scale; 0 initialises to zeros
};

// A group of tensors that one forward step reads together (a layer's weight and bias). A
// perturbed forward pass materialises one group at a time in a scratch buffer.
struct LayerSpec {
    std::string name;
    std::size_t offset = 0;
    std::size_t size = 0;
    std::vector<std::size_t> tensors;  // indices into ParamLayout::tensors
};

class ParamLayout {
  public:
    // Appends a tensor to the current layer (begin_layer must have been called).
    void begin_layer(std::string name);
    std::size_t add(std::string name, std::vector<std::int64_t> shape, float init_std);

    const std::vector<TensorSpec>& tensors() const noexcept { return m_tensors; }
    const std::vector<LayerSpec>& layers() const noexcept { return m_layers; }
    std::size_t size() const noexcept { return m_size; }
    std::size_t max_layer_size() const noexcept;

  private:
    std::vector<TensorSpec> m_tensors;
    std::vector<LayerSpec> m_layers;
    std::size_t m_size = 0;
};

// Initial parameters: tensor t is init_std * Gaussian from the init stream with
// (swarm id, author = empty, round = init_seed, index = t).
std::vector<float> init_params(const ParamLayout& layout, ByteSpan swarm_id,
                               std::uint64_t init_seed);

// SHA-256 of u64be(count) followed by every parameter as IEEE-754 binary32 little-endian, in
// layout order. Identifies a model state across nodes.
crypto::Digest model_hash(std::span<const float> params);

}  // namespace swarmd::training
