#include "rl/tasks.hpp"

#include <algorithm>
#include <cstdlib>

#include "rl/error.hpp"

namespace swarmd::rl {
namespace {

constexpr std::array<std::string_view, kFamilyCount> kNames = {
    "add", "mul", "sort", "reverse", "count", "digitsum", "algebra", "compose"};

// A number with exactly `digits` digits (1-digit numbers include 0).
std::int64_t number(Rng& rng, int digits) {
    if (digits <= 1) return rng.between(0, 9);
    std::int64_t lo = 1;
    for (int i = 1; i < digits; ++i) lo *= 10;
    return rng.between(lo, lo * 10 - 1);
}

std::string digits_string(Rng& rng, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng.below(10)));
    return s;
}

std::string letters(Rng& rng, int n, int alphabet) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + rng.below(alphabet)));
    return s;
}

std::string str(std::int64_t v) { return std::to_string(v); }

// Digit-wise sum without carries: the classic systematic addition mistake.
std::int64_t add_without_carry(std::int64_t a, std::int64_t b) {
    std::int64_t out = 0;
    std::int64_t place = 1;
    while (a > 0 || b > 0) {
        out += ((a % 10 + b % 10) % 10) * place;
        a /= 10;
        b /= 10;
        place *= 10;
    }
    return out;
}

// Changes one character of s to a different character of the same kind.
std::string perturb_char(std::string s, Rng& rng) {
    if (s.empty()) return "0";
    const std::size_t i = rng.below(s.size());
    const char c = s[i];
    if (c >= '0' && c <= '9') {
        s[i] = static_cast<char>('0' + (c - '0' + 1 + rng.below(9)) % 10);
    } else {
        s[i] = static_cast<char>('a' + (c - 'a' + 1 + rng.below(25)) % 26);
    }
    return s;
}

struct Operands {
    std::int64_t a, b, c;
};

constexpr int kAddDigits[kLevelCount] = {1, 2, 3, 4};
constexpr int kMulDigits[kLevelCount][2] = {{1, 1}, {2, 1}, {2, 2}, {3, 2}};
constexpr int kSortLength[kLevelCount] = {3, 4, 6, 8};
constexpr int kReverseLength[kLevelCount] = {3, 5, 7, 9};
constexpr int kCountLength[kLevelCount] = {4, 8, 12, 16};
constexpr int kDigitsumLength[kLevelCount] = {2, 3, 5, 7};
constexpr int kComposeDigits[kLevelCount][2] = {{1, 1}, {2, 1}, {2, 2}, {3, 2}};

}  // namespace

std::string_view family_name(Family f) noexcept {
    const auto i = static_cast<std::size_t>(f);
    return i < kNames.size() ? kNames[i] : std::string_view{"?"};
}

Result<Family> parse_family(std::string_view name) {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
        if (kNames[i] == name) return static_cast<Family>(i);
    }
    return Errc::unknown_family;
}

Result<Family> family_from_index(std::uint32_t index) {
    if (index >= kFamilyCount) return Errc::unknown_family;
    return static_cast<Family>(index);
}

Result<Problem> generate(const TaskId& task) {
    if (static_cast<int>(task.family) >= kFamilyCount) return Errc::unknown_family;
    if (task.level >= kLevelCount) return Errc::bad_level;
    Rng rng(mix_seed({static_cast<std::uint64_t>(task.family), task.level, task.seed}));
    const int lv = task.level;
    Problem p;
    switch (task.family) {
        case Family::add: {
            const auto a = number(rng, kAddDigits[lv]);
            const auto b = number(rng, kAddDigits[lv]);
            p.prompt = str(a) + "+" + str(b) + "=";
            p.answer = str(a + b);
            break;
        }
        case Family::mul: {
            const auto a = number(rng, kMulDigits[lv][0]);
            const auto b = number(rng, kMulDigits[lv][1]);
            p.prompt = str(a) + "*" + str(b) + "=";
            p.answer = str(a * b);
            break;
        }
        case Family::sort: {
            const std::string s = digits_string(rng, kSortLength[lv]);
            std::string sorted = s;
            std::sort(sorted.begin(), sorted.end());
            p.prompt = "s:" + s + "=";
            p.answer = sorted;
            break;
        }
        case Family::reverse: {
            const std::string s = letters(rng, kReverseLength[lv], 26);
            p.prompt = "r:" + s + "=";
            p.answer = std::string(s.rbegin(), s.rend());
            break;
        }
        case Family::count: {
            const char target = static_cast<char>('a' + rng.below(4));
            const std::string s = letters(rng, kCountLength[lv], 4);
            p.prompt = std::string("c") + target + ":" + s + "=";
            p.answer = str(std::count(s.begin(), s.end(), target));
            break;
        }
        case Family::digitsum: {
            const std::string s = digits_string(rng, kDigitsumLength[lv]);
            int sum = 0;
            for (char c : s) sum += c - '0';
            p.prompt = "d:" + s + "=";
            p.answer = str(sum);
            break;
        }
        case Family::algebra: {
            // x+a=b, x+a=b with 2 digits, a*x=b, a*x+b=c; the answer x is never negative.
            if (lv <= 1) {
                const auto x = number(rng, lv + 1);
                const auto a = number(rng, lv + 1);
                p.prompt = "x+" + str(a) + "=" + str(x + a) + ";x=";
                p.answer = str(x);
            } else if (lv == 2) {
                const auto a = rng.between(2, 9);
                const auto x = rng.between(2, 19);
                p.prompt = str(a) + "*x=" + str(a * x) + ";x=";
                p.answer = str(x);
            } else {
                const auto a = rng.between(2, 9);
                const auto x = rng.between(2, 19);
                const auto b = rng.between(1, 30);
                p.prompt = str(a) + "*x+" + str(b) + "=" + str(a * x + b) + ";x=";
                p.answer = str(x);
            }
            break;
        }
        case Family::compose: {
            const auto a = number(rng, kComposeDigits[lv][0]);
            const auto b = number(rng, kComposeDigits[lv][0]);
            const auto c = number(rng, kComposeDigits[lv][1]);
            p.prompt = "(" + str(a) + "+" + str(b) + ")*" + str(c) + "=";
            p.answer = str((a + b) * c);
            break;
        }
    }
    return p;
}

float verify(const Problem& problem, std::string_view completion) noexcept {
    return completion == problem.answer ? 1.0f : 0.0f;
}

std::string corrupt_answer(const TaskId& task, const Problem& problem, Rng& rng) {
    std::string wrong;
    const std::string& prompt = problem.prompt;
    switch (task.family) {
        case Family::add: {
            const auto plus = prompt.find('+');
            const auto a = std::atoll(prompt.substr(0, plus).c_str());
            const auto b = std::atoll(prompt.substr(plus + 1).c_str());
            wrong = str(add_without_carry(a, b));
            break;
        }
        case Family::mul:
            wrong = perturb_char(problem.answer, rng);
            break;
        case Family::sort: {
            // Sorted except one adjacent pair left swapped.
            wrong = problem.answer;
            if (wrong.size() >= 2) {
                const std::size_t i = rng.below(wrong.size() - 1);
                std::swap(wrong[i], wrong[i + 1]);
            }
            break;
        }
        case Family::reverse: {
            // The input copied instead of reversed, or two neighbours swapped.
            wrong = prompt.substr(2, prompt.size() - 3);
            if (rng.chance(0.5) && wrong.size() >= 2) {
                wrong = problem.answer;
                const std::size_t i = rng.below(wrong.size() - 1);
                std::swap(wrong[i], wrong[i + 1]);
            }
            break;
        }
        case Family::count:
        case Family::digitsum:
        case Family::algebra: {
            const auto v = std::atoll(problem.answer.c_str());
            wrong = str(std::max<std::int64_t>(0, v + (rng.chance(0.5) ? 1 : -1)));
            break;
        }
        case Family::compose: {
            // Precedence mistake: a+b*c.
            const auto plus = prompt.find('+');
            const auto close = prompt.find(')');
            const auto a = std::atoll(prompt.substr(1, plus - 1).c_str());
            const auto b = std::atoll(prompt.substr(plus + 1, close - plus - 1).c_str());
            const auto c = std::atoll(prompt.substr(close + 2).c_str());
            wrong = str(a + b * c);
            break;
        }
    }
    while (wrong == problem.answer) wrong = perturb_char(wrong, rng);
    return wrong;
}

TaskId TaskMix::draw(Rng& rng) const {
    const auto& [family, level] = entries[rng.below(entries.size())];
    return TaskId{family, level, rng.next()};
}

TaskMix TaskMix::all_families(std::uint8_t level) {
    return families({kAllFamilies.begin(), kAllFamilies.end()}, level);
}

TaskMix TaskMix::one_family(Family f, std::uint8_t level) { return families({f}, level); }

TaskMix TaskMix::families(const std::vector<Family>& fs, std::uint8_t level) {
    TaskMix mix;
    for (Family f : fs) mix.entries.emplace_back(f, level);
    return mix;
}

}  // namespace swarmd::rl
