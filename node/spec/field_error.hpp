#pragma once
// Errors in user-written input (spec files, config files, environment, flags) name the field
// they are about, so every message reads "zo.epsilon: 5 is out of range (allowed: ...)".
#include <string>

#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>

namespace swarmd::node {

struct FieldError {
    std::string key;      // "zo.epsilon", "sapo.policies[1].heads", "SWARMD_HTTP", "--listen"
    std::string message;  // one line, no trailing period
    int line = 0;         // 1-based line in the source file, 0 when unknown

    // "key (line N): message", always a single line.
    std::string to_string() const;
};

template <class T>
using FieldResult =
    boost::outcome_v2::std_result<T, FieldError, boost::outcome_v2::policy::terminate>;

}  // namespace swarmd::node
