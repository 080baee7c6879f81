// Gossipsub between swarmd hosts over real loopback sockets.
#include <catch2/catch.hpp>

#include "net/host.hpp"
#include "net/pubsub.hpp"
#include "tests/net/gossip_fixture.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
namespace asio = boost::asio;

using testing::GossipNode;

TEST_CASE("messages cross a line of swarmd nodes exactly once", "[pubsub]") {
    asio::io_context io;
    std::vector<std::unique_ptr<GossipNode>> nodes;
    for (int i = 0; i < 4; ++i) nodes.push_back(std::make_unique<GossipNode>(io));
    const std::string topic = "swarmd/test/1";
    for (auto& n : nodes) n->subscribe(topic);
    testing::run(io, [&]() -> asio::awaitable<void> {
        // A line: 0 - 1 - 2 - 3, so messages must be forwarded.
        for (int i = 0; i + 1 < 4; ++i) {
            auto c = co_await nodes[i]->host->dial(nodes[i + 1]->addr);
            REQUIRE(c);
        }
        co_await testing::wait_until([&] {
            for (int i = 0; i < 4; ++i) {
                if (nodes[i]->pubsub->router().mesh_peers(topic).size() !=
                    (i == 0 || i == 3 ? 1u : 2u))
                    return false;
            }
            return true;
        });
        for (int i = 0; i < 4; ++i) {
            auto r = nodes[i]->pubsub->publish(topic, as_bytes("from " + std::to_string(i)));
            REQUIRE(r);
        }
        co_await testing::wait_until([&] {
            for (auto& n : nodes) {
                if (n->received.size() < 3) return false;
            }
            return true;
        });
    });
    for (int i = 0; i < 4; ++i) {
        auto got = nodes[i]->received;
        std::sort(got.begin(), got.end());
        std::vector<std::string> want;
        for (int j = 0; j < 4; ++j) {
            if (j != i) want.push_back("from " + std::to_string(j));
        }
        CHECK(got == want);
    }
}
