#include "node/spec/field_error.hpp"

namespace swarmd::node {

std::string FieldError::to_string() const {
    std::string out = key;
    if (line > 0)
        out +=
            (out.empty() ? "line " : " (line ") + std::to_string(line) + (out.empty() ? "" : ")");
    if (!out.empty()) out += ": ";
    out += message;
    for (char& c : out) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return out;
}

}  // namespace swarmd::node
