#pragma once
// Policies: small causal transformers over the shared character vocabulary. Sizes are per node
// (a heterogeneous swarm), the vocabulary and task suite are per swarm. Sampling is batched with a
// KV cache and draws from our own RNG, so a rollout is reproducible from the node's seed.
#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "rl/rng.hpp"
#include "rl/tasks.hpp"
#include "rl/vocab.hpp"

namespace swarmd::rl {

struct PolicyOptions {
    static constexpr std::int64_t kDefaultDModel = 64;
    static constexpr std::int64_t kDefaultLayers = 2;
    static constexpr std::int64_t kDefaultHeads = 4;
    static constexpr std::int64_t kDefaultMaxLen = 40;

    TORCH_ARG(std::int64_t, d_model) = kDefaultDModel;
    TORCH_ARG(std::int64_t, layers) = kDefaultLayers;
    TORCH_ARG(std::int64_t, heads) = kDefaultHeads;
    TORCH_ARG(std::int64_t, max_len) = kDefaultMaxLen;  // prompt + BOS + completion
};

// Per-layer keys and values of the positions already processed, [B, heads, T, head_dim].
struct KvCache {
    std::vector<torch::Tensor> keys;
    std::vector<torch::Tensor> values;
};

class BlockImpl : public torch::nn::Module {
  public:
    BlockImpl(std::int64_t d_model, std::int64_t heads);
    // x [B,T,D]; bias [B,1,T,Tk] additive attention mask over cached + new keys.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, torch::Tensor* keys,
                          torch::Tensor* values);

  private:
    std::int64_t m_heads;
    torch::nn::LayerNorm m_ln1{nullptr}, m_ln2{nullptr};
    torch::nn::Linear m_qkv{nullptr}, m_proj{nullptr}, m_fc1{nullptr}, m_fc2{nullptr};
};
TORCH_MODULE(Block);

class PolicyImpl : public torch::nn::Module {
  public:
    explicit PolicyImpl(const PolicyOptions& options = {});

    // tokens, positions [B,T] int64; key_valid [B, Tcache+T] bool. With a cache, the new keys
    // and values are appended to it. Returns logits [B,T,V].
    torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                          const torch::Tensor& key_valid, KvCache* cache = nullptr);

    const PolicyOptions& options() const noexcept { return m_options; }
    std::int64_t parameter_count() const;

  private:
    PolicyOptions m_options;
    torch::nn::Embedding m_tok{nullptr}, m_pos{nullptr};
    std::vector<Block> m_blocks;
    torch::nn::LayerNorm m_ln{nullptr};
    torch::nn::Linear m_head{nullptr};
};
TORCH_MODULE(Policy);

// A new policy with the same options and a copy of the weights.
Policy clone_policy(const Policy& policy);

// BOS + prompt tokens (the prompt comes from the task suite, so it is always in the vocabulary).
Tokens prompt_tokens(const std::string& prompt);

struct SampleOptions {
    static constexpr float kDefaultTemperature = 1.0f;
    static constexpr int kDefaultMaxNewTokens = 10;

    float temperature = kDefaultTemperature;
    int max_new_tokens = kDefaultMaxNewTokens;
    bool greedy = false;
};

struct Sample {
    Tokens tokens;                // EOS last if the policy stopped within the cap
    std::vector<float> logprobs;  // of the sampling distribution (logits / temperature)
};

// One completion per prompt (repeat a prompt G times for a group); prompts include BOS.
std::vector<Sample> sample(Policy& policy, const std::vector<Tokens>& prompts,
                           const SampleOptions& options, Rng& rng);

// Log-probabilities of completions under the policy (with autograd): [B, Lmax] and a float mask.
struct SequenceLogprobs {
    torch::Tensor logprobs;
    torch::Tensor mask;
};
SequenceLogprobs completion_logprobs(Policy& policy, const std::vector<Tokens>& prompts,
                                     const std::vector<Tokens>& completions, float temperature);

struct WarmupOptions {
    static constexpr int kDefaultSteps = 400;
    static constexpr int kDefaultBatch = 64;
    static constexpr double kDefaultLr = 3e-3;

    int steps = kDefaultSteps;
    int batch = kDefaultBatch;
    double lr = kDefaultLr;
    TaskMix mix;
    // Probability that a training target carries a systematic mistake, per level.
    std::array<double, kLevelCount> noise = {0.1, 0.2, 0.3, 0.4};
    // Asked before every step: true ends the warm-up early (a node asked to stop).
    std::function<bool()> cancelled;
};

// Supervised warm-up on generated solutions with noise and systematic mistakes. Returns the
// loss of every step.
std::vector<float> warmup(Policy& policy, const WarmupOptions& options, Rng& rng);

// Greedy accuracy on `per_entry` tasks of each mix entry (seeds from `seed`), one value per entry.
std::vector<float> greedy_accuracy(Policy& policy, const TaskMix& mix, int per_entry,
                                   std::uint64_t seed);
// Mean sampled reward on the same kind of evaluation set.
float sampled_reward(Policy& policy, const TaskMix& mix, int per_entry, std::uint64_t seed,
                     float temperature, Rng& rng);

// Every parameter as one float vector, in the module's registration order: the canonical layout
// that the final merge hashes, sends and averages. Policies of the same options share it.
std::vector<float> flatten_parameters(const Policy& policy);
// Writes `values` (flatten_parameters' layout) into the policy; false on a size mismatch.
bool load_parameters(Policy& policy, const std::vector<float>& values);

// Checkpoint with the options, so a spec can name a base policy by path.
// Written atomically and durably (fsync before and after the rename).
Result<void> save_policy(const Policy& policy, const std::filesystem::path& path);
Result<Policy> load_policy(const std::filesystem::path& path);

}  // namespace swarmd::rl
