#include <link.h>

#include <filesystem>
#include <string>

#include "training/models.hpp"

namespace swarmd::training {

std::string blas_in_use() {
    std::string found;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* out = static_cast<std::string*>(data);
            const std::string name = info->dlpi_name != nullptr ? info->dlpi_name : "";
            if (name.find("blas") != std::string::npos) {
                std::error_code ec;
                auto real = std::filesystem::canonical(name, ec);
                if (!out->empty()) *out += ", ";
                *out += ec ? name : real.string();
            }
            return 0;
        },
        &found);
    return found.empty() ? "no BLAS library loaded" : found;
}

}  // namespace swarmd::training
