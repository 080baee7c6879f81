#include "bootstrap/error.hpp"

#include <string>

namespace swarmd::bootstrap {
namespace {

const char* describe(Errc e) noexcept {
    switch (e) {
        case Errc::dns_timeout:
            return "DNS server did not answer in time";
        case Errc::dns_name_not_found:
            return "DNS name does not exist";
        case Errc::dns_server_failure:
            return "DNS server failed to answer";
        case Errc::dns_refused:
            return "DNS server refused the query";
        case Errc::dns_malformed_response:
            return "malformed DNS response";
        case Errc::dns_truncated:
            return "DNS response truncated (too many records for UDP)";
        case Errc::dns_bad_name:
            return "invalid DNS name";
        case Errc::dns_no_server:
            return "no DNS server configured";
        case Errc::dnsaddr_loop:
            return "dnsaddr records form a loop";
        case Errc::dnsaddr_too_deep:
            return "dnsaddr chain exceeds the depth limit";
        case Errc::dnsaddr_no_records:
            return "no dnsaddr= TXT records for this name";
        case Errc::dnsaddr_too_many_records:
            return "dnsaddr resolution exceeds the record limit";
        case Errc::bad_peer_list:
            return "malformed bootstrap peer list";
        case Errc::bad_peer_store:
            return "malformed peer store file";
        case Errc::different_swarm:
            return "peer belongs to a different swarm";
        case Errc::rejected_low_score:
            return "peer rejected us for a low score";
        case Errc::bad_hello:
            return "malformed swarm hello message";
        case Errc::bad_peer_exchange:
            return "malformed peer exchange message";
        case Errc::dht_only_peer:
            return "a libp2p peer outside the swarm (no swarmd hello), kept for the DHT";
    }
    return nullptr;
}

}  // namespace

const std::error_category& bootstrap_category() noexcept {
    static const EnumCategory<Errc> category("bootstrap", describe);
    return category;
}

}  // namespace swarmd::bootstrap
