#pragma once
// Training tasks: a model over the flat parameter store plus its data. The forward passes are
// written functionally over read-only parameters: a perturbed evaluation materialises each
// layer's theta + eps * z in one scratch buffer as the forward pass reaches that layer, so
// evaluating a loss never writes theta and needs one layer of extra memory.
//
// This header does not include LibTorch; models.cpp is the only LibTorch translation unit here.
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "training/data.hpp"
#include "training/task.hpp"

namespace swarmd::training {

struct MlpOptions {
    static constexpr std::size_t kDefaultHidden = 128;
    static constexpr std::size_t kDefaultTestEvery = 5;  // every 5th example: 20% held out

    std::vector<std::size_t> hidden{kDefaultHidden};
    std::size_t test_every = kDefaultTestEvery;
};

// MLP classifier on digits: 64 -> hidden... -> 10, ReLU, cross-entropy. Examples whose index
// is a multiple of test_every form the held-out split; train_size() counts the rest.
std::unique_ptr<Task> make_digits_mlp(const DigitsData& data, const MlpOptions& options = {});

struct CharLmOptions {
    static constexpr std::size_t kDefaultContext = 16;
    static constexpr std::size_t kDefaultEmbed = 16;
    static constexpr std::size_t kDefaultHidden = 128;
    static constexpr double kDefaultTestFraction = 0.1;
    static constexpr std::size_t kDefaultMaxEval = 4096;

    std::size_t context = kDefaultContext;
    std::size_t embed = kDefaultEmbed;
    std::size_t hidden = kDefaultHidden;
    double test_fraction = kDefaultTestFraction;  // the text's tail is held out
    std::size_t max_eval = kDefaultMaxEval;       // held-out positions evaluated (evenly spaced)
};

// Causal character LM over a fixed window: the next character from the previous `context`
// ones (embedding -> tanh hidden layer -> softmax over 96 symbols: newline and printable ASCII;
// other bytes read as space).
std::unique_ptr<Task> make_char_lm(const std::string& text, const CharLmOptions& options = {});
inline constexpr std::size_t kCharVocab = 96;

// Intra-op threads of the compute backend, LibTorch's and OpenBLAS's (tiny models run fastest
// on one).
void set_compute_threads(int threads);

// Which BLAS library the process has loaded (LibTorch calls the system libblas.so.3).
std::string blas_in_use();

}  // namespace swarmd::training
