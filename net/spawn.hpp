#pragma once
// The completion handler for a top-level co_spawn: a coroutine that dies by an exception (a
// broken invariant; peer input never throws) is logged, never silently dropped. Used across
// net/, bootstrap/ and node/, each with its own log category.
#include <exception>
#include <string_view>

#include <spdlog/logger.h>

#include "net/log.hpp"

namespace swarmd::net {

struct LogException {
    std::string_view what;
    spdlog::logger& (*log)() = net_log;

    void operator()(std::exception_ptr error) const {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            log().error("{} ended by an exception: {}", what, e.what());
        } catch (...) {
            log().error("{} ended by an unknown exception", what);
        }
    }
};

}  // namespace swarmd::net
