#include <catch2/catch.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include "bootstrap/diagnose.hpp"
#include "bootstrap/error.hpp"
#include "net/error.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;

TEST_CASE("failures from every layer are classified", "[diagnose]") {
    CHECK(classify({}) == JoinFailure::none);
    CHECK(classify(Errc::dns_name_not_found) == JoinFailure::dns_failure);
    CHECK(classify(Errc::dns_timeout) == JoinFailure::dns_failure);
    CHECK(classify(Errc::dnsaddr_loop) == JoinFailure::dns_failure);
    CHECK(classify(Errc::different_swarm) == JoinFailure::different_swarm);
    CHECK(classify(Errc::rejected_low_score) == JoinFailure::rejected_low_score);
    CHECK(classify(Errc::bad_hello) == JoinFailure::handshake_failure);
    CHECK(classify(net::Errc::peer_id_mismatch) == JoinFailure::peer_id_mismatch);
    CHECK(classify(net::Errc::bad_signature) == JoinFailure::handshake_failure);
    CHECK(classify(net::Errc::protocol_not_supported) == JoinFailure::handshake_failure);
    CHECK(classify(net::Errc::timeout) == JoinFailure::timeout);
    CHECK(classify(net::Errc::bad_port) == JoinFailure::bad_address);
    // Asio's socket errors arrive as boost::system codes converted to std::error_code.
    std::error_code refused = boost::system::error_code(boost::asio::error::connection_refused);
    CHECK(classify(refused) == JoinFailure::connection_refused);
    std::error_code unreachable = boost::system::error_code(boost::asio::error::host_unreachable);
    CHECK(classify(unreachable) == JoinFailure::unreachable);
    std::error_code netdb = boost::system::error_code(boost::asio::error::host_not_found);
    CHECK(classify(netdb) == JoinFailure::dns_failure);
}

TEST_CASE("each failure reads as one line with advice", "[diagnose]") {
    auto line = describe_failure("/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWx",
                                 boost::system::error_code(boost::asio::error::connection_refused));
    CHECK(line.starts_with("bootstrap /ip4/10.0.0.1/tcp/4001/p2p/12D3KooWx: connection refused ("));
    CHECK(line.find("nothing listens on that port") != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    for (auto f : {JoinFailure::bad_address, JoinFailure::dns_failure,
                   JoinFailure::connection_refused, JoinFailure::unreachable, JoinFailure::timeout,
                   JoinFailure::handshake_failure, JoinFailure::peer_id_mismatch,
                   JoinFailure::different_swarm, JoinFailure::rejected_low_score}) {
        CHECK_FALSE(failure_advice(f).empty());
        CHECK(failure_name(f) != failure_name(JoinFailure::other));
    }
}
