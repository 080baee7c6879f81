#include "rl/vocab.hpp"

#include <array>

#include "rl/error.hpp"

namespace swarmd::rl {
namespace {

constexpr std::array<Token, 256> make_table() {
    std::array<Token, 256> table{};
    for (std::size_t i = 0; i < kVocabChars.size(); ++i) {
        table[static_cast<unsigned char>(kVocabChars[i])] = static_cast<Token>(3 + i);
    }
    return table;
}

constexpr std::array<Token, 256> kTable = make_table();

}  // namespace

Token char_token(char c) noexcept { return kTable[static_cast<unsigned char>(c)]; }

Result<Tokens> encode_text(std::string_view text) {
    Tokens out;
    out.reserve(text.size());
    for (char c : text) {
        const Token t = char_token(c);
        if (t == kPadToken) return Errc::text_not_in_vocabulary;
        out.push_back(t);
    }
    return out;
}

std::string decode_text(const Tokens& tokens) {
    std::string out;
    out.reserve(tokens.size());
    for (Token t : tokens) {
        if (t == kEosToken) break;
        if (t >= 3 && t < kVocabSize) out.push_back(kVocabChars[t - 3]);
    }
    return out;
}

}  // namespace swarmd::rl
