#pragma once
// The character vocabulary every node of a swarm shares: three specials and the characters the
// task suite uses. A completion on the wire is a string of these token ids.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace swarmd::rl {

using Token = std::uint8_t;
using Tokens = std::vector<Token>;

inline constexpr Token kPadToken = 0;
inline constexpr Token kBosToken = 1;
inline constexpr Token kEosToken = 2;
inline constexpr std::string_view kVocabChars = "0123456789abcdefghijklmnopqrstuvwxyz+-*=:;()";
inline constexpr int kVocabSize = 3 + static_cast<int>(kVocabChars.size());

// Token of a character, or kPadToken when the character is not in the vocabulary.
Token char_token(char c) noexcept;
// Text -> tokens (no BOS/EOS added).
Result<Tokens> encode_text(std::string_view text);
// Tokens -> text, stopping at the first EOS; specials other than EOS are skipped.
std::string decode_text(const Tokens& tokens);

}  // namespace swarmd::rl
