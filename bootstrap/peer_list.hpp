#pragma once
// Bootstrap peer lists: the built-in list compiled into the binary, extended or replaced by the
// config file and --bootstrap flags.
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace swarmd::bootstrap {

inline constexpr std::size_t kMaxBootstrapEntries = 256;

// One entry per line; '#' starts a comment line; blank lines are skipped. Each entry must be a
// /dnsaddr/ name or a multiaddr that ends in /p2p/<peer id>. An error names the line.
struct PeerListError {
    std::size_t line;
    std::string entry;
    std::string reason;
};
Result<std::vector<std::string>> parse_peer_list(std::string_view text,
                                                 PeerListError* error = nullptr);

// Checks one entry as parse_peer_list does; returns the reason it is rejected, or "".
std::string check_bootstrap_entry(std::string_view entry);

const std::vector<std::string>& builtin_peers();

struct PeerListOptions {
    std::vector<std::string> extra;  // config file entries, then --bootstrap flags
    bool replace_builtin = false;
};

// The effective list: built-in (unless replaced) followed by extras, without duplicates.
std::vector<std::string> effective_peer_list(const PeerListOptions& options);

}  // namespace swarmd::bootstrap
