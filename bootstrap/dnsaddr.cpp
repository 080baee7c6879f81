#include "bootstrap/dnsaddr.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/endian.hpp"
#include "bootstrap/dns.hpp"
#include "bootstrap/error.hpp"
#include "crypto/noise_primitives.hpp"

namespace swarmd::bootstrap {
namespace {

constexpr std::string_view kDnsaddrPrefix = "/dnsaddr/";
constexpr std::string_view kRecordPrefix = "dnsaddr=";

struct DnsaddrParts {
    std::string name;
    std::string suffix;  // e.g. "/p2p/12D3KooW..." or ""
};

Result<DnsaddrParts> split_dnsaddr(const std::string& multiaddr) {
    if (!multiaddr.starts_with(kDnsaddrPrefix)) return Errc::dns_bad_name;
    auto rest = std::string_view(multiaddr).substr(kDnsaddrPrefix.size());
    auto slash = rest.find('/');
    DnsaddrParts parts{std::string(rest.substr(0, slash)), ""};
    if (slash != std::string_view::npos) parts.suffix = std::string(rest.substr(slash));
    if (parts.name.empty()) return Errc::dns_bad_name;
    return parts;
}

// The peer id a multiaddr names, i.e. the value after its last /p2p/ (or /ipfs/).
std::string_view peer_of(std::string_view multiaddr) {
    for (std::string_view tag : {"/p2p/", "/ipfs/"}) {
        auto pos = multiaddr.rfind(tag);
        if (pos != std::string_view::npos) {
            auto id = multiaddr.substr(pos + tag.size());
            return id.substr(0, id.find('/'));
        }
    }
    return {};
}

}  // namespace

std::vector<asio::ip::udp::endpoint> system_nameservers(const std::string& path) {
    std::vector<asio::ip::udp::endpoint> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key, value;
        if (!(words >> key >> value) || key != "nameserver") continue;
        boost::system::error_code ec;
        auto address = asio::ip::make_address(value, ec);
        if (!ec) out.emplace_back(address, 53);
    }
    return out;
}

bool is_dnsaddr(const std::string& multiaddr) { return multiaddr.starts_with(kDnsaddrPrefix); }

DnsaddrResolver::DnsaddrResolver(asio::io_context& io, DnsaddrOptions options)
    : m_io(io), m_options(std::move(options)) {
    if (m_options.servers.empty()) m_options.servers = system_nameservers();
}

asio::awaitable<Result<std::vector<std::string>>> DnsaddrResolver::resolve(std::string multiaddr) {
    std::vector<std::string> path;
    std::vector<std::string> out;
    auto done = co_await expand(multiaddr, 0, path, out);
    if (!done) co_return done.error();
    co_return out;
}

asio::awaitable<Result<void>> DnsaddrResolver::expand(const std::string& multiaddr, int depth,
                                                      std::vector<std::string>& path,
                                                      std::vector<std::string>& out) {
    auto parts = split_dnsaddr(multiaddr);
    if (!parts) co_return parts.error();
    const auto& name = parts.value().name;
    if (std::find(path.begin(), path.end(), name) != path.end()) co_return Errc::dnsaddr_loop;
    if (depth >= m_options.max_depth) co_return Errc::dnsaddr_too_deep;

    auto records = co_await query_txt("_dnsaddr." + name);
    if (!records) co_return records.error();
    const auto wanted_peer = peer_of(parts.value().suffix);

    path.push_back(name);
    bool any = false;
    for (const auto& record : records.value()) {
        if (!record.starts_with(kRecordPrefix)) continue;
        std::string target = record.substr(kRecordPrefix.size());
        if (!wanted_peer.empty() && peer_of(target) != wanted_peer) continue;
        any = true;
        if (is_dnsaddr(target)) {
            auto nested = co_await expand(target, depth + 1, path, out);
            if (!nested) co_return nested.error();
        } else {
            if (out.size() == m_options.max_addrs) co_return Errc::dnsaddr_too_many_records;
            if (std::find(out.begin(), out.end(), target) == out.end()) out.push_back(target);
        }
    }
    path.pop_back();
    if (!any) co_return Errc::dnsaddr_no_records;
    co_return success();
}

asio::awaitable<Result<std::vector<std::string>>> DnsaddrResolver::query_txt(std::string name) {
    if (m_options.servers.empty()) co_return Errc::dns_no_server;
    Result<std::vector<std::string>> last = Errc::dns_timeout;
    for (int attempt = 0; attempt < m_options.attempts; ++attempt) {
        for (const auto& server : m_options.servers) {
            last = co_await query_once(server, name);
            // Only silence and server failures are worth asking again; an answer is final.
            if (last ||
                (last.error() != Errc::dns_timeout && last.error() != Errc::dns_server_failure)) {
                co_return last;
            }
        }
    }
    co_return last;
}

asio::awaitable<Result<std::vector<std::string>>> DnsaddrResolver::query_once(
    const asio::ip::udp::endpoint& server, const std::string& name) {
    std::array<std::uint8_t, 2> id_bytes;
    crypto::random_bytes(id_bytes);
    const auto id = load_be<std::uint16_t>(id_bytes.data());
    auto query = encode_txt_query(name, id);
    if (!query) co_return query.error();

    asio::ip::udp::socket socket(m_io, server.protocol());
    boost::system::error_code ec;
    co_await socket.async_send_to(asio::buffer(query.value()), server,
                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Errc::dns_server_failure;

    asio::steady_timer deadline(m_io);
    deadline.expires_after(m_options.timeout);
    bool expired = false;
    deadline.async_wait([&socket, &expired](boost::system::error_code wait_ec) {
        if (wait_ec) return;
        expired = true;
        socket.cancel();
    });

    std::array<std::uint8_t, kMaxDnsMessage> buffer;
    for (;;) {
        asio::ip::udp::endpoint sender;
        const std::size_t n = co_await socket.async_receive_from(
            asio::buffer(buffer), sender, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            deadline.cancel();
            co_return expired ? Errc::dns_timeout : Errc::dns_server_failure;
        }
        // Datagrams from elsewhere, or answers to another query, are dropped (anti-spoofing).
        if (sender != server) continue;
        auto records = decode_txt_response(ByteSpan(buffer.data(), n), id);
        if (!records && records.error() == Errc::dns_malformed_response) continue;
        deadline.cancel();
        co_return records;
    }
}

}  // namespace swarmd::bootstrap
