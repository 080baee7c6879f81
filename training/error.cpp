#include "training/error.hpp"

#include <string>

namespace swarmd::training {

namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "training"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
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
        return "unknown training error";
    }
};

}  // namespace

const std::error_category& training_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace swarmd::training
