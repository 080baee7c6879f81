#pragma once
// The result type every decoder of untrusted input returns: a value or a std::error_code from
// the module's error enum. Input from a peer, a file or a flag never throws.
#include <system_error>

#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>

// Boost 1.74's BOOST_OUTCOME_TRY(var, expr) declares `var` itself (no `auto` in the macro call).

namespace swarmd {

template <class T>
using Result = boost::outcome_v2::std_result<T>;

using boost::outcome_v2::success;

}  // namespace swarmd
