// The only LibTorch translation unit of training/.
#include "training/models.hpp"
#include "training/zo.hpp"

#include <dlfcn.h>

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace swarmd::training {

namespace {

// Reads layers of theta for one forward pass: theta itself, or theta + eps * z materialised in
// the scratch buffer (reused layer after layer, so a layer's tensors must be consumed before the
// next layer is requested).
class LayerReader {
  public:
    LayerReader(std::span<const float> theta, const Perturbation* p, std::vector<float>& scratch)
        : m_theta(theta), m_p(p), m_scratch(scratch) {}

    const float* layer(const LayerSpec& l) {
        const float* src = m_theta.data() + l.offset;
        if (m_p == nullptr) return src;
        // Allocated on first perturbed use, so inference never pays for it.
        if (m_scratch.size() < l.size) m_scratch.resize(l.size);
        float* s = m_scratch.data();
        fill_direction(m_p->stream, m_p->dist, l.offset, {s, l.size});
        const float eps = m_p->eps;
        for (std::size_t i = 0; i < l.size; ++i) s[i] = src[i] + eps * s[i];
        return s;
    }

  private:
    std::span<const float> m_theta;
    const Perturbation* m_p;
    std::vector<float>& m_scratch;
};

// A tensor aliasing memory that is only read (NoGradGuard, no in-place ops).
torch::Tensor view(const float* layer_base, const LayerSpec& l, const TensorSpec& t) {
    return torch::from_blob(const_cast<float*>(layer_base + (t.offset - l.offset)), t.shape,
                            torch::kFloat32);
}

torch::Tensor index_tensor(std::span<const std::uint32_t> batch, std::int64_t shift = 0) {
    auto idx = torch::empty({static_cast<std::int64_t>(batch.size())}, torch::kInt64);
    auto* p = idx.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < batch.size(); ++i) p[i] = batch[i] + shift;
    return idx;
}

// Leaf tensors aliasing theta for a backprop step; the SGD update writes through them.
std::vector<torch::Tensor> trainable_views(std::span<float> theta, const ParamLayout& layout) {
    std::vector<torch::Tensor> out;
    for (const auto& t : layout.tensors()) {
        out.push_back(torch::from_blob(theta.data() + t.offset, t.shape, torch::kFloat32)
                          .requires_grad_(true));
    }
    return out;
}

void sgd_update(std::vector<torch::Tensor>& params, float lr) {
    torch::NoGradGuard no_grad;
    for (auto& p : params) p.sub_(p.grad(), lr);
}

class DigitsMlp final : public Task {
  public:
    DigitsMlp(const DigitsData& data, const MlpOptions& options) {
        if (options.test_every < 2) throw std::invalid_argument("MlpOptions::test_every < 2");
        std::vector<std::size_t> widths{DigitsData::kFeatures};
        widths.insert(widths.end(), options.hidden.begin(), options.hidden.end());
        widths.push_back(DigitsData::kClasses);
        for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
            const auto in = static_cast<std::int64_t>(widths[l]);
            const auto out = static_cast<std::int64_t>(widths[l + 1]);
            const std::string name = "fc" + std::to_string(l);
            m_layout.begin_layer(name);
            // He initialisation for ReLU layers.
            m_layout.add(name + ".weight", {out, in}, std::sqrt(2.0f / static_cast<float>(in)));
            m_layout.add(name + ".bias", {out}, 0.0f);
        }

        std::vector<std::int64_t> train_rows, test_rows;
        for (std::size_t i = 0; i < data.count(); ++i) {
            (i % options.test_every == 0 ? test_rows : train_rows).push_back(i);
        }
        auto all_x = torch::from_blob(const_cast<float*>(data.features.data()),
                                      {static_cast<std::int64_t>(data.count()),
                                       static_cast<std::int64_t>(DigitsData::kFeatures)},
                                      torch::kFloat32);
        auto all_y = torch::from_blob(const_cast<std::uint8_t*>(data.labels.data()),
                                      {static_cast<std::int64_t>(data.count())}, torch::kUInt8)
                         .to(torch::kInt64);
        auto rows = [](const std::vector<std::int64_t>& r) {
            return torch::from_blob(const_cast<std::int64_t*>(r.data()),
                                    {static_cast<std::int64_t>(r.size())}, torch::kInt64)
                .clone();
        };
        const auto tr = rows(train_rows), te = rows(test_rows);
        m_train_x = all_x.index_select(0, tr);
        m_train_y = all_y.index_select(0, tr);
        m_test_x = all_x.index_select(0, te);
        m_test_y = all_y.index_select(0, te);
    }

    const ParamLayout& layout() const override { return m_layout; }
    std::size_t train_size() const override { return static_cast<std::size_t>(m_train_y.size(0)); }

    double loss(std::span<const float> theta, std::span<const std::uint32_t> batch,
                const Perturbation* p) const override {
        torch::NoGradGuard no_grad;
        const auto idx = index_tensor(batch);
        const auto logits = forward(theta, p, m_train_x.index_select(0, idx));
        return torch::nn::functional::cross_entropy(logits, m_train_y.index_select(0, idx))
            .item<double>();
    }

    Metrics evaluate(std::span<const float> theta) const override {
        torch::NoGradGuard no_grad;
        const auto logits = forward(theta, nullptr, m_test_x);
        Metrics m;
        m.loss = torch::nn::functional::cross_entropy(logits, m_test_y).item<double>();
        m.accuracy = logits.argmax(1).eq(m_test_y).to(torch::kFloat64).mean().item<double>();
        return m;
    }

    double backprop_step(std::span<float> theta, std::span<const std::uint32_t> batch,
                         float lr) const override {
        auto params = trainable_views(theta, m_layout);
        const auto idx = index_tensor(batch);
        auto h = m_train_x.index_select(0, idx);
        const std::size_t n_layers = params.size() / 2;
        for (std::size_t l = 0; l < n_layers; ++l) {
            h = torch::addmm(params[2 * l + 1], h, params[2 * l].t());
            if (l + 1 < n_layers) h = torch::relu(h);
        }
        auto loss = torch::nn::functional::cross_entropy(h, m_train_y.index_select(0, idx));
        loss.backward();
        sgd_update(params, lr);
        return loss.item<double>();
    }

  private:
    torch::Tensor forward(std::span<const float> theta, const Perturbation* p,
                          torch::Tensor h) const {
        LayerReader reader(theta, p, m_scratch);
        const auto& layers = m_layout.layers();
        for (std::size_t l = 0; l < layers.size(); ++l) {
            const auto& spec = layers[l];
            const float* base = reader.layer(spec);
            const auto w = view(base, spec, m_layout.tensors()[spec.tensors[0]]);
            const auto b = view(base, spec, m_layout.tensors()[spec.tensors[1]]);
            h = torch::addmm(b, h, w.t());  // consumes the scratch before the next layer
            if (l + 1 < layers.size()) h = torch::relu(h);
        }
        return h;
    }

    ParamLayout m_layout;
    mutable std::vector<float> m_scratch;
    torch::Tensor m_train_x, m_train_y, m_test_x, m_test_y;
};

std::int64_t char_token(unsigned char c) {
    if (c == '\n') return 0;
    if (c >= 32 && c <= 126) return c - 31;
    return ' ' - 31;
}

class CharLm final : public Task {
  public:
    CharLm(const std::string& text, const CharLmOptions& o) : m_o(o) {
        const auto ctx = static_cast<std::int64_t>(o.context);
        const auto d = static_cast<std::int64_t>(o.embed);
        const auto h = static_cast<std::int64_t>(o.hidden);
        const auto v = static_cast<std::int64_t>(kCharVocab);
        m_layout.begin_layer("embed");
        m_layout.add("embed.weight", {v, d}, 1.0f);
        m_layout.begin_layer("hidden");
        m_layout.add("hidden.weight", {h, ctx * d}, 1.0f / std::sqrt(static_cast<float>(ctx * d)));
        m_layout.add("hidden.bias", {h}, 0.0f);
        m_layout.begin_layer("out");
        m_layout.add("out.weight", {v, h}, 0.1f / std::sqrt(static_cast<float>(h)));
        m_layout.add("out.bias", {v}, 0.0f);

        m_tokens.reserve(text.size());
        for (unsigned char c : text) m_tokens.push_back(char_token(c));
        const auto n = m_tokens.size();
        m_train_end = static_cast<std::size_t>(static_cast<double>(n) * (1.0 - o.test_fraction));
        if (m_train_end <= o.context || n - m_train_end <= o.context + 1) {
            throw std::invalid_argument("CharLm: text too short for its context and split");
        }
        // Held-out targets: evenly spaced positions of the tail, each with a full context in it.
        const std::size_t first = m_train_end + o.context;
        const std::size_t avail = n - first;
        const std::size_t count = std::min(avail, o.max_eval);
        for (std::size_t i = 0; i < count; ++i) {
            m_eval.push_back(static_cast<std::uint32_t>(first + i * avail / count));
        }
    }

    const ParamLayout& layout() const override { return m_layout; }
    // Example b predicts token context + b from the `context` tokens before it.
    std::size_t train_size() const override { return m_train_end - m_o.context; }

    double loss(std::span<const float> theta, std::span<const std::uint32_t> batch,
                const Perturbation* p) const override {
        torch::NoGradGuard no_grad;
        auto [inputs, targets] = examples(batch, static_cast<std::uint32_t>(m_o.context));
        return torch::nn::functional::cross_entropy(forward(theta, p, inputs), targets)
            .item<double>();
    }

    Metrics evaluate(std::span<const float> theta) const override {
        torch::NoGradGuard no_grad;
        auto [inputs, targets] = examples(m_eval, 0);
        Metrics m;
        m.loss = torch::nn::functional::cross_entropy(forward(theta, nullptr, inputs), targets)
                     .item<double>();
        m.perplexity = std::exp(m.loss);
        return m;
    }

    double backprop_step(std::span<float> theta, std::span<const std::uint32_t> batch,
                         float lr) const override {
        auto params = trainable_views(theta, m_layout);
        auto [inputs, targets] = examples(batch, static_cast<std::uint32_t>(m_o.context));
        const auto b = inputs.size(0);
        auto e = params[0].index_select(0, inputs.flatten()).view({b, -1});
        auto h = torch::tanh(torch::addmm(params[2], e, params[1].t()));
        auto loss = torch::nn::functional::cross_entropy(torch::addmm(params[4], h, params[3].t()),
                                                         targets);
        loss.backward();
        sgd_update(params, lr);
        return loss.item<double>();
    }

  private:
    // (inputs [B, context], targets [B]) for target positions batch[i] + shift.
    std::pair<torch::Tensor, torch::Tensor> examples(std::span<const std::uint32_t> batch,
                                                     std::uint32_t shift) const {
        const auto b = static_cast<std::int64_t>(batch.size());
        const auto ctx = static_cast<std::int64_t>(m_o.context);
        auto inputs = torch::empty({b, ctx}, torch::kInt64);
        auto targets = torch::empty({b}, torch::kInt64);
        auto* in = inputs.data_ptr<std::int64_t>();
        auto* tg = targets.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < b; ++i) {
            const std::size_t pos = batch[static_cast<std::size_t>(i)] + shift;
            for (std::int64_t j = 0; j < ctx; ++j) {
                in[i * ctx + j] = m_tokens[pos - m_o.context + static_cast<std::size_t>(j)];
            }
            tg[i] = m_tokens[pos];
        }
        return {inputs, targets};
    }

    torch::Tensor forward(std::span<const float> theta, const Perturbation* p,
                          const torch::Tensor& inputs) const {
        LayerReader reader(theta, p, m_scratch);
        const auto& layers = m_layout.layers();
        const auto& t = m_layout.tensors();
        const float* base = reader.layer(layers[0]);
        auto e = view(base, layers[0], t[layers[0].tensors[0]])
                     .index_select(0, inputs.flatten())
                     .view({inputs.size(0), -1});
        base = reader.layer(layers[1]);
        auto h = torch::tanh(torch::addmm(view(base, layers[1], t[layers[1].tensors[1]]), e,
                                          view(base, layers[1], t[layers[1].tensors[0]]).t()));
        base = reader.layer(layers[2]);
        return torch::addmm(view(base, layers[2], t[layers[2].tensors[1]]), h,
                            view(base, layers[2], t[layers[2].tensors[0]]).t());
    }

    CharLmOptions m_o;
    ParamLayout m_layout;
    mutable std::vector<float> m_scratch;
    std::vector<std::int64_t> m_tokens;
    std::size_t m_train_end = 0;
    std::vector<std::uint32_t> m_eval;
};

}  // namespace

std::unique_ptr<Task> make_digits_mlp(const DigitsData& data, const MlpOptions& options) {
    return std::make_unique<DigitsMlp>(data, options);
}

std::unique_ptr<Task> make_char_lm(const std::string& text, const CharLmOptions& options) {
    return std::make_unique<CharLm>(text, options);
}

void set_compute_threads(int threads) {
    torch::set_num_threads(threads);
    // Debian's pthread OpenBLAS keeps a pool of its own that ignores torch's setting: with
    // one compute thread wanted, its second thread only spins against the first.
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        f(threads);
}

}  // namespace swarmd::training
