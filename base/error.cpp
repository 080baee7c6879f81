#include "base/error.hpp"

namespace swarmd {
namespace {

const char* describe(EncodingErrc e) noexcept {
    switch (e) {
        case EncodingErrc::too_long:
            return "encoded text too long";
        case EncodingErrc::bad_base58:
            return "invalid base58btc character";
        case EncodingErrc::bad_base32:
            return "invalid base32 character";
        case EncodingErrc::bad_hex:
            return "invalid hex string";
    }
    return nullptr;
}

}  // namespace

const std::error_category& encoding_category() noexcept {
    static const EnumCategory<EncodingErrc> category("encoding", describe);
    return category;
}

}  // namespace swarmd
