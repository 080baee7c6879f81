#include "rl/policy.hpp"

#include <sstream>

#include "base/file.hpp"

#include <algorithm>
#include <cmath>

#include "rl/error.hpp"

namespace swarmd::rl {
namespace {

namespace nn = torch::nn;

constexpr float kMaskedLogit = -1e9f;
const char* const kOptionsKey = "swarmd_policy_options";

// Additive attention bias [B,1,T,Tc+T]: query i (absolute Tc+i) sees valid keys up to itself,
// and always itself, so a padding query never has an empty softmax row.
torch::Tensor attention_bias(const torch::Tensor& key_valid, std::int64_t t_new) {
    const std::int64_t t_keys = key_valid.size(1);
    const std::int64_t t_cache = t_keys - t_new;
    auto q = torch::arange(t_cache, t_keys, torch::kLong).unsqueeze(1);  // [T,1]
    auto k = torch::arange(0, t_keys, torch::kLong).unsqueeze(0);        // [1,Tk]
    auto causal = (k <= q).unsqueeze(0);                                 // [1,T,Tk]
    auto self = (k == q).unsqueeze(0);
    auto allowed = causal.logical_and(key_valid.unsqueeze(1)).logical_or(self);  // [B,T,Tk]
    return torch::zeros(allowed.sizes(), torch::kFloat)
        .masked_fill(allowed.logical_not(), kMaskedLogit)
        .unsqueeze(1);
}

// Right-padded BOS+prompt+completion rows for teacher forcing.
struct Packed {
    torch::Tensor tokens;     // [B,T]
    torch::Tensor positions;  // [B,T]
    torch::Tensor valid;      // [B,T] bool
    std::vector<std::int64_t> prompt_len;
    std::int64_t max_completion = 0;
};

Packed pack(const std::vector<Tokens>& prompts, const std::vector<Tokens>& completions) {
    Packed p;
    const auto b = static_cast<std::int64_t>(prompts.size());
    std::int64_t t = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        t = std::max<std::int64_t>(t, prompts[i].size() + completions[i].size());
        p.max_completion = std::max<std::int64_t>(p.max_completion, completions[i].size());
    }
    p.tokens = torch::zeros({b, t}, torch::kLong);
    p.valid = torch::zeros({b, t}, torch::kBool);
    auto tok = p.tokens.accessor<std::int64_t, 2>();
    auto val = p.valid.accessor<bool, 2>();
    for (std::int64_t i = 0; i < b; ++i) {
        std::int64_t j = 0;
        auto put = [&](Token x) {
            tok[i][j] = x;
            val[i][j] = true;
            ++j;
        };
        for (Token x : prompts[i]) put(x);
        p.prompt_len.push_back(j);
        for (Token x : completions[i]) put(x);
    }
    p.positions = torch::arange(t, torch::kLong).unsqueeze(0).expand({b, t}).contiguous();
    return p;
}

}  // namespace

BlockImpl::BlockImpl(std::int64_t d_model, std::int64_t heads) : m_heads(heads) {
    m_ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({d_model})));
    m_ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({d_model})));
    m_qkv = register_module("qkv", nn::Linear(d_model, 3 * d_model));
    m_proj = register_module("proj", nn::Linear(d_model, d_model));
    m_fc1 = register_module("fc1", nn::Linear(d_model, 4 * d_model));
    m_fc2 = register_module("fc2", nn::Linear(4 * d_model, d_model));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& bias,
                                 torch::Tensor* keys, torch::Tensor* values) {
    const auto b = x.size(0);
    const auto t = x.size(1);
    const auto d = x.size(2);
    const auto hd = d / m_heads;
    auto qkv = m_qkv(m_ln1(x)).view({b, t, 3, m_heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0];
    auto k = qkv[1];
    auto v = qkv[2];
    if (keys != nullptr) {
        if (keys->defined()) {
            k = torch::cat({*keys, k}, 2);
            v = torch::cat({*values, v}, 2);
        }
        *keys = k;
        *values = v;
    }
    auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)) + bias;
    auto y = torch::matmul(torch::softmax(att, -1), v).transpose(1, 2).reshape({b, t, d});
    auto h = x + m_proj(y);
    return h + m_fc2(torch::gelu(m_fc1(m_ln2(h))));
}

PolicyImpl::PolicyImpl(const PolicyOptions& options) : m_options(options) {
    const auto d = options.d_model();
    m_tok = register_module("tok", nn::Embedding(kVocabSize, d));
    m_pos = register_module("pos", nn::Embedding(options.max_len(), d));
    for (std::int64_t i = 0; i < options.layers(); ++i) {
        m_blocks.push_back(register_module("block" + std::to_string(i), Block(d, options.heads())));
    }
    m_ln = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({d})));
    m_head = register_module("head", nn::Linear(d, kVocabSize));
    torch::NoGradGuard guard;
    for (auto& p : named_parameters()) {
        if (p.key().find("ln") != std::string::npos) continue;
        if (p.value().dim() >= 2) {
            p.value().normal_(0.0, 0.02);
        } else {
            p.value().zero_();
        }
    }
}

torch::Tensor PolicyImpl::forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                                  const torch::Tensor& key_valid, KvCache* cache) {
    auto x = m_tok(tokens) + m_pos(positions.clamp(0, m_options.max_len() - 1));
    const auto bias = attention_bias(key_valid, tokens.size(1));
    if (cache != nullptr && cache->keys.empty()) {
        cache->keys.resize(m_blocks.size());
        cache->values.resize(m_blocks.size());
    }
    for (std::size_t i = 0; i < m_blocks.size(); ++i) {
        x = m_blocks[i]->forward(x, bias, cache ? &cache->keys[i] : nullptr,
                                 cache ? &cache->values[i] : nullptr);
    }
    // PAD and BOS are never generated: a completion holds only characters and EOS.
    auto logits = m_head(m_ln(x));
    return logits.index_fill(-1, torch::tensor({std::int64_t{kPadToken}, std::int64_t{kBosToken}}),
                             kMaskedLogit);
}

std::int64_t PolicyImpl::parameter_count() const {
    std::int64_t n = 0;
    for (const auto& p : parameters()) n += p.numel();
    return n;
}

Policy clone_policy(const Policy& policy) {
    Policy copy(policy->options());
    torch::NoGradGuard guard;
    auto src = policy->named_parameters();
    for (auto& p : copy->named_parameters()) p.value().copy_(src[p.key()]);
    return copy;
}

Tokens prompt_tokens(const std::string& prompt) {
    Tokens out{kBosToken};
    for (char c : prompt) out.push_back(char_token(c));
    return out;
}

std::vector<Sample> sample(Policy& policy, const std::vector<Tokens>& prompts,
                           const SampleOptions& options, Rng& rng) {
    torch::NoGradGuard guard;
    const auto b = static_cast<std::int64_t>(prompts.size());
    std::vector<Sample> out(prompts.size());
    if (b == 0) return out;
    std::int64_t p_len = 0;
    for (const auto& p : prompts) p_len = std::max<std::int64_t>(p_len, p.size());
    const std::int64_t max_new =
        std::min<std::int64_t>(options.max_new_tokens, policy->options().max_len() - p_len);

    // Left-padded prompts; each row's positions start at 0 at its BOS.
    auto tokens = torch::zeros({b, p_len}, torch::kLong);
    auto positions = torch::zeros({b, p_len}, torch::kLong);
    auto valid = torch::zeros({b, p_len}, torch::kBool);
    std::vector<std::int64_t> pad(prompts.size());
    {
        auto tok = tokens.accessor<std::int64_t, 2>();
        auto pos = positions.accessor<std::int64_t, 2>();
        auto val = valid.accessor<bool, 2>();
        for (std::int64_t i = 0; i < b; ++i) {
            pad[i] = p_len - static_cast<std::int64_t>(prompts[i].size());
            for (std::int64_t j = 0; j < static_cast<std::int64_t>(prompts[i].size()); ++j) {
                tok[i][pad[i] + j] = prompts[i][j];
                pos[i][pad[i] + j] = j;
                val[i][pad[i] + j] = true;
            }
        }
    }
    KvCache cache;
    auto logits = policy->forward(tokens, positions, valid, &cache).select(1, p_len - 1);
    std::vector<bool> done(prompts.size(), false);
    std::vector<float> uniforms(prompts.size());
    for (std::int64_t step = 0; step < max_new; ++step) {
        auto logp = torch::log_softmax(logits / options.temperature, -1);  // [B,V]
        torch::Tensor chosen;
        if (options.greedy) {
            chosen = logp.argmax(-1);
        } else {
            for (auto& u : uniforms) u = static_cast<float>(rng.uniform());
            auto u = torch::from_blob(uniforms.data(), {b, 1}, torch::kFloat);
            auto cdf = logp.exp().cumsum(-1);
            chosen = (cdf < u).sum(-1).clamp_max(kVocabSize - 1);
        }
        auto chosen_lp = logp.gather(1, chosen.unsqueeze(1)).squeeze(1);
        auto c = chosen.accessor<std::int64_t, 1>();
        auto lp = chosen_lp.accessor<float, 1>();
        auto next = torch::zeros({b, 1}, torch::kLong);
        auto next_pos = torch::zeros({b, 1}, torch::kLong);
        auto next_valid = torch::zeros({b, 1}, torch::kBool);
        auto nt = next.accessor<std::int64_t, 2>();
        auto np = next_pos.accessor<std::int64_t, 2>();
        auto nv = next_valid.accessor<bool, 2>();
        bool all_done = true;
        for (std::int64_t i = 0; i < b; ++i) {
            np[i][0] = p_len - pad[i] + step;
            if (done[i]) continue;
            const auto token = static_cast<Token>(c[i]);
            out[i].tokens.push_back(token);
            out[i].logprobs.push_back(lp[i]);
            nt[i][0] = token;
            nv[i][0] = true;
            done[i] = token == kEosToken;
            all_done &= done[i];
        }
        if (all_done || step + 1 == max_new) break;
        valid = torch::cat({valid, next_valid}, 1);
        logits = policy->forward(next, next_pos, valid, &cache).select(1, 0);
    }
    return out;
}

SequenceLogprobs completion_logprobs(Policy& policy, const std::vector<Tokens>& prompts,
                                     const std::vector<Tokens>& completions, float temperature) {
    const Packed p = pack(prompts, completions);
    const auto b = static_cast<std::int64_t>(prompts.size());
    auto logits = policy->forward(p.tokens, p.positions, p.valid);
    auto logp = torch::log_softmax(logits / temperature, -1);  // [B,T,V]
    // Gather index: completion token j of row i sits at prompt_len+j, predicted at prompt_len+j-1.
    const std::int64_t lc = std::max<std::int64_t>(p.max_completion, 1);
    auto index = torch::zeros({b, lc}, torch::kLong);
    auto targets = torch::zeros({b, lc}, torch::kLong);
    auto mask = torch::zeros({b, lc}, torch::kFloat);
    {
        auto idx = index.accessor<std::int64_t, 2>();
        auto tgt = targets.accessor<std::int64_t, 2>();
        auto msk = mask.accessor<float, 2>();
        for (std::int64_t i = 0; i < b; ++i) {
            for (std::size_t j = 0; j < completions[i].size(); ++j) {
                idx[i][j] = p.prompt_len[i] + static_cast<std::int64_t>(j) - 1;
                tgt[i][j] = completions[i][j];
                msk[i][j] = 1.0f;
            }
        }
    }
    auto at_pos = logp.gather(1, index.unsqueeze(2).expand({b, lc, logp.size(2)}));  // [B,Lc,V]
    auto lp = at_pos.gather(2, targets.unsqueeze(2)).squeeze(2) * mask;
    return {lp, mask};
}

std::vector<float> warmup(Policy& policy, const WarmupOptions& options, Rng& rng) {
    torch::optim::Adam optimizer(policy->parameters(), torch::optim::AdamOptions(options.lr));
    std::vector<float> losses;
    losses.reserve(options.steps);
    for (int step = 0; step < options.steps; ++step) {
        if (options.cancelled && options.cancelled()) break;
        std::vector<Tokens> prompts, targets;
        for (int i = 0; i < options.batch; ++i) {
            const TaskId task = options.mix.draw(rng);
            const Problem problem = generate(task).value();
            std::string answer = rng.chance(options.noise[task.level])
                                     ? corrupt_answer(task, problem, rng)
                                     : problem.answer;
            Tokens target = encode_text(answer).value();
            target.push_back(kEosToken);
            prompts.push_back(prompt_tokens(problem.prompt));
            targets.push_back(std::move(target));
        }
        auto [lp, mask] = completion_logprobs(policy, prompts, targets, 1.0f);
        auto loss = -(lp.sum() / mask.sum());
        optimizer.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(policy->parameters(), 1.0);
        optimizer.step();
        losses.push_back(loss.item<float>());
    }
    return losses;
}

namespace {

std::vector<std::pair<TaskId, Problem>> eval_set(const TaskMix& mix, int per_entry,
                                                 std::uint64_t seed) {
    std::vector<std::pair<TaskId, Problem>> set;
    for (std::size_t e = 0; e < mix.entries.size(); ++e) {
        for (int k = 0; k < per_entry; ++k) {
            const TaskId task{mix.entries[e].first, mix.entries[e].second,
                              mix_seed({seed, e, static_cast<std::uint64_t>(k)})};
            set.emplace_back(task, generate(task).value());
        }
    }
    return set;
}

std::vector<float> rewards_of(Policy& policy, const std::vector<std::pair<TaskId, Problem>>& set,
                              const SampleOptions& options, Rng& rng) {
    std::vector<Tokens> prompts;
    for (const auto& [task, problem] : set) prompts.push_back(prompt_tokens(problem.prompt));
    const auto samples = sample(policy, prompts, options, rng);
    std::vector<float> rewards;
    for (std::size_t i = 0; i < set.size(); ++i) {
        rewards.push_back(verify(set[i].second, decode_text(samples[i].tokens)));
    }
    return rewards;
}

}  // namespace

std::vector<float> greedy_accuracy(Policy& policy, const TaskMix& mix, int per_entry,
                                   std::uint64_t seed) {
    const auto set = eval_set(mix, per_entry, seed);
    SampleOptions options;
    options.greedy = true;
    Rng unused(0);
    const auto rewards = rewards_of(policy, set, options, unused);
    std::vector<float> acc(mix.entries.size(), 0.0f);
    for (std::size_t i = 0; i < rewards.size(); ++i) acc[i / per_entry] += rewards[i];
    for (auto& a : acc) a /= static_cast<float>(per_entry);
    return acc;
}

float sampled_reward(Policy& policy, const TaskMix& mix, int per_entry, std::uint64_t seed,
                     float temperature, Rng& rng) {
    const auto set = eval_set(mix, per_entry, seed);
    SampleOptions options;
    options.temperature = temperature;
    const auto rewards = rewards_of(policy, set, options, rng);
    float sum = 0.0f;
    for (float r : rewards) sum += r;
    return rewards.empty() ? 0.0f : sum / static_cast<float>(rewards.size());
}

std::vector<float> flatten_parameters(const Policy& policy) {
    torch::NoGradGuard no_grad;
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(policy->parameter_count()));
    for (const auto& p : policy->parameters()) {
        const auto flat = p.detach().to(torch::kFloat32).contiguous().view(-1);
        out.insert(out.end(), flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
    }
    return out;
}

bool load_parameters(Policy& policy, const std::vector<float>& values) {
    if (values.size() != static_cast<std::size_t>(policy->parameter_count())) return false;
    torch::NoGradGuard no_grad;
    std::size_t offset = 0;
    for (auto& p : policy->parameters()) {
        const auto n = static_cast<std::size_t>(p.numel());
        auto src = torch::from_blob(const_cast<float*>(values.data() + offset), p.sizes(),
                                    torch::kFloat32);
        p.copy_(src);
        offset += n;
    }
    return true;
}

Result<void> save_policy(const Policy& policy, const std::filesystem::path& path) {
    try {
        torch::serialize::OutputArchive archive;
        policy->save(archive);
        const auto& o = policy->options();
        archive.write(kOptionsKey, torch::tensor({o.d_model(), o.layers(), o.heads(), o.max_len()},
                                                 torch::kLong));
        // Serialized in memory, then written durably: a temporary beside the target, fsync,
        // rename, fsync of the directory (base/file.hpp), so a crash keeps the old file or
        // the new one and two writers never share a temporary.
        std::ostringstream out;
        archive.save_to(out);
        const std::string bytes = out.str();
        if (write_file_atomic(
                path, ByteSpan(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                0644))
            return Errc::checkpoint_io;
    } catch (const std::exception&) {
        return Errc::checkpoint_io;
    }
    return success();
}

Result<Policy> load_policy(const std::filesystem::path& path) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path.string());
    } catch (const std::exception&) {
        return Errc::checkpoint_io;
    }
    try {
        torch::Tensor o;
        archive.read(kOptionsKey, o);
        if (o.scalar_type() != torch::kLong || o.numel() != 4) return Errc::checkpoint_format;
        const auto v = o.accessor<std::int64_t, 1>();
        constexpr std::int64_t kMaxDim = 4096;
        const bool sane = v[0] > 0 && v[0] <= kMaxDim && v[1] > 0 && v[1] <= 64 && v[2] > 0 &&
                          v[0] % v[2] == 0 && v[3] > 1 && v[3] <= kMaxDim;
        if (!sane) return Errc::checkpoint_format;
        Policy policy(PolicyOptions{}.d_model(v[0]).layers(v[1]).heads(v[2]).max_len(v[3]));
        policy->load(archive);
        return policy;
    } catch (const std::exception&) {
        return Errc::checkpoint_format;
    }
}

}  // namespace swarmd::rl
