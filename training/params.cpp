#include "training/params.hpp"

#include <bit>
#include <stdexcept>

#include "base/endian.hpp"
#include "crypto/perturbation.hpp"

namespace swarmd::training {

static_assert(std::endian::native == std::endian::little,
              "model hashing and checkpoints assume a little-endian host");

void ParamLayout::begin_layer(std::string name) {
    m_layers.push_back({std::move(name), m_size, 0, {}});
}

std::size_t ParamLayout::add(std::string name, std::vector<std::int64_t> shape, float init_std) {
    if (m_layers.empty()) throw std::logic_error("ParamLayout::add before begin_layer");
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    m_tensors.push_back({std::move(name), std::move(shape), m_size, n, init_std});
    m_layers.back().tensors.push_back(m_tensors.size() - 1);
    m_layers.back().size += n;
    m_size += n;
    return m_tensors.size() - 1;
}

std::size_t ParamLayout::max_layer_size() const noexcept {
    std::size_t m = 0;
    for (const auto& l : m_layers) m = std::max(m, l.size);
    return m;
}

std::vector<float> init_params(const ParamLayout& layout, ByteSpan swarm_id,
                               std::uint64_t init_seed) {
    std::vector<float> params(layout.size(), 0.0f);
    for (std::size_t t = 0; t < layout.tensors().size(); ++t) {
        const auto& spec = layout.tensors()[t];
        if (spec.init_std == 0.0f) continue;
        crypto::PerturbationStream s(crypto::derive_stream_key(
            crypto::StreamDomain::init, swarm_id, {}, init_seed, static_cast<std::uint32_t>(t)));
        std::span<float> dst(params.data() + spec.offset, spec.size);
        s.gaussian(0, dst);
        for (float& x : dst) x *= spec.init_std;
    }
    return params;
}

crypto::Digest model_hash(std::span<const float> params) {
    crypto::Sha256 h;
    std::uint8_t count[8];
    const std::uint64_t n = params.size();
    store_be(count, n);
    h.update(count);
    h.update({reinterpret_cast<const std::uint8_t*>(params.data()), params.size_bytes()});
    return h.finish();
}

}  // namespace swarmd::training
