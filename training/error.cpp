#include "training/error.hpp"

#include <string>

namespace swarmd::training {

namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::io:
            return "file i/o failed";
        case Errc::bad_data_set:
            return "malformed data set";
        case Errc::bad_update:
            return "malformed update record";
        case Errc::bad_checkpoint:
            return "malformed or corrupt checkpoint";
        case Errc::checkpoint_mismatch:
            return "checkpoint is for a different model";
        case Errc::unsupported_log:
            return "update log of an unsupported format version";
    }
    return nullptr;
}

}  // namespace

const std::error_category& training_category() noexcept {
    static const EnumCategory<Errc> category("training", describe);
    return category;
}

}  // namespace swarmd::training
