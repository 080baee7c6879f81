#pragma once
// The completion handler for every top-level co_spawn in net/: a coroutine that dies by an
// exception (a broken invariant; peer input never throws) is logged, never silently dropped.
#include <exception>
#include <string_view>

#include "net/log.hpp"

namespace swarmd::net::detail {

struct LogException {
    std::string_view what;
    void operator()(std::exception_ptr error) const {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            net_log().error("{} ended by an exception: {}", what, e.what());
        } catch (...) {
            net_log().error("{} ended by an unknown exception", what);
        }
    }
};

}  // namespace swarmd::net::detail
