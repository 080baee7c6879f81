#pragma once
// What `swarmd --version` prints. The definitions are generated in the build tree at build time
// (cmake/version.cmake), in a library of their own, so a new commit recompiles one file.
#include <string>
#include <string_view>

namespace swarmd::node {

// CMake's project VERSION, e.g. "0.1.0".
std::string_view version();
// `git describe --always --dirty` of the source tree when it was built, e.g. "29f3b22" or
// "29f3b22-dirty"; "unknown" when it was built outside a git checkout.
std::string_view git_revision();

// "swarmd 0.1.0 (git 29f3b22)": the line `swarmd --version` prints.
inline std::string version_line() {
    return "swarmd " + std::string(version()) + " (git " + std::string(git_revision()) + ")";
}

}  // namespace swarmd::node
