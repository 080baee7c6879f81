#pragma once
// Why joining through a bootstrap peer failed, told in one line a new user can act on.
// Failures are classified from the error a dial returned, whatever layer produced it.
#include <string>
#include <system_error>

namespace swarmd::bootstrap {

enum class JoinFailure {
    none,
    bad_address,
    dns_failure,
    connection_refused,
    unreachable,
    timeout,
    handshake_failure,
    peer_id_mismatch,
    different_swarm,
    rejected_low_score,
    other,
};

JoinFailure classify(const std::error_code& ec);
std::string_view failure_name(JoinFailure f);
// What to do about it, one sentence.
std::string_view failure_advice(JoinFailure f);

// "bootstrap <target>: <kind> (<error message>) — <advice>"
std::string describe_failure(const std::string& target, const std::error_code& ec);

}  // namespace swarmd::bootstrap
