#pragma once
// The task suite: procedurally generated problems with a verifier, in the spirit of
// ReasoningGym. A task is a pure function of (family, level, seed), so a receiver regenerates the
// question of any rollout it is sent and recomputes the reward itself.
#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "rl/rng.hpp"

namespace swarmd::rl {

enum class Family : std::uint8_t {
    add = 0,   // a+b= with 1..4-digit operands
    mul,       // a*b= from 1x1 to 3x2 digits
    sort,      // s:<digits>= sorted ascending
    reverse,   // r:<letters>= reversed
    count,     // c<letter>:<letters>= occurrences of the letter
    digitsum,  // d:<digits>= sum of the digits
    algebra,   // x+a=b;x= up to a*x+b=c;x=
    compose,   // (a+b)*c=
};

inline constexpr int kFamilyCount = 8;
inline constexpr int kLevelCount = 4;
inline constexpr std::array<Family, kFamilyCount> kAllFamilies = {
    Family::add,   Family::mul,      Family::sort,    Family::reverse,
    Family::count, Family::digitsum, Family::algebra, Family::compose};

std::string_view family_name(Family f) noexcept;
Result<Family> parse_family(std::string_view name);
Result<Family> family_from_index(std::uint32_t index);

struct TaskId {
    Family family = Family::add;
    std::uint8_t level = 0;
    std::uint64_t seed = 0;
    auto operator<=>(const TaskId&) const = default;
};

struct Problem {
    std::string prompt;  // what the policy sees, e.g. "37+45="
    std::string answer;  // the one right completion, e.g. "82"
};

// Regenerates the problem of a task; fails only for a family or level out of range.
Result<Problem> generate(const TaskId& task);

// Reward of a completion (decoded text up to EOS): 1 if it is exactly the answer, else 0.
float verify(const Problem& problem, std::string_view completion) noexcept;

// An answer with a family-specific systematic mistake (dropped carry, precedence error, an
// off-by-one count, ...) for the noisy supervised warm-up. Always differs from the answer.
std::string corrupt_answer(const TaskId& task, const Problem& problem, Rng& rng);

// A set of (family, level) pairs that a node draws its local questions from, uniformly.
struct TaskMix {
    std::vector<std::pair<Family, std::uint8_t>> entries;

    TaskId draw(Rng& rng) const;
    static TaskMix all_families(std::uint8_t level);
    static TaskMix one_family(Family f, std::uint8_t level);
    static TaskMix families(const std::vector<Family>& fs, std::uint8_t level);
};

}  // namespace swarmd::rl
