#include "bootstrap/peer_list.hpp"

#include <algorithm>
#include <stdexcept>

#include "bootstrap/error.hpp"
#include "net/multiaddr.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr std::string_view kBuiltinText =
#include "bootstrap/default_peers.inc"
    ;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string check_bootstrap_entry(std::string_view entry) {
    auto addr = net::Multiaddr::parse(entry);
    if (!addr) return addr.error().message();
    if (entry.starts_with("/dnsaddr/")) return "";
    if (!addr.value().peer_id()) return "missing /p2p/<peer id> at the end";
    return "";
}

Result<std::vector<std::string>> parse_peer_list(std::string_view text, PeerListError* error) {
    std::vector<std::string> out;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        auto line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        auto reason = check_bootstrap_entry(line);
        if (reason.empty() && out.size() == kMaxBootstrapEntries) reason = "too many entries";
        if (!reason.empty()) {
            if (error) *error = {line_no, std::string(line), reason};
            return Errc::bad_peer_list;
        }
        if (std::find(out.begin(), out.end(), line) == out.end()) out.emplace_back(line);
    }
    return out;
}

const std::vector<std::string>& builtin_peers() {
    static const std::vector<std::string> peers = [] {
        PeerListError error;
        auto list = parse_peer_list(kBuiltinText, &error);
        if (!list) {
            throw std::logic_error("built-in bootstrap list, line " + std::to_string(error.line) +
                                   ": " + error.reason);
        }
        return list.value();
    }();
    return peers;
}

std::vector<std::string> effective_peer_list(const PeerListOptions& options) {
    std::vector<std::string> out;
    if (!options.replace_builtin) out = builtin_peers();
    for (const auto& e : options.extra) {
        if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
    }
    return out;
}

}  // namespace swarmd::bootstrap
