#pragma once
// Data sets the training tasks read: scikit-learn's digits (Debian's python3-sklearn ships it)
// and plain text for the character language model.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace swarmd::training {

inline constexpr const char* kDigitsPath =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
inline constexpr const char* kLicenseDir = "/usr/share/common-licenses";

struct DigitsData {
    static constexpr std::size_t kFeatures = 64;  // 8x8 pixels, 0..16, scaled to [0, 1]
    static constexpr std::size_t kClasses = 10;
    std::vector<float> features;  // count x kFeatures
    std::vector<std::uint8_t> labels;
    std::size_t count() const noexcept { return labels.size(); }
};

// Reads the gzip'd CSV (64 pixel columns then the label per line). Malformed lines are an
// error naming the line.
Result<DigitsData> load_digits(const std::filesystem::path& path = kDigitsPath);

// Concatenates the regular files of `dir` in name order, up to max_bytes.
Result<std::string> load_text_dir(const std::filesystem::path& dir, std::size_t max_bytes);

}  // namespace swarmd::training
