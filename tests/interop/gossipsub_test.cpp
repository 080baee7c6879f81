// Gossipsub in a mixed mesh: three swarmd nodes and three js-libp2p nodes in a ring that
// alternates implementations (S0 - J0 - S1 - J1 - S2 - J2 - S0), so every hop crosses from one
// implementation to the other and each message reaches the far side of the ring by two paths.
// The js nodes run StrictSign with swarmd's message id (peer.mjs swarmdMsgId).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tests/interop/js_peer.hpp"
#include "tests/net/gossip_fixture.hpp"
#include "tests/net/host_fixture.hpp"

using namespace swarmd;
using namespace swarmd::net;
using swarmd::interop::JsPeer;
using swarmd::net::testing::GossipNode;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kPerImplementation = 3;
constexpr std::size_t kMessagesPerNode = 3;
constexpr auto kHeartbeat = 100ms;
const std::string kTopic = "swarmd/interop/gossip";
const nlohmann::json kMeshCommand = {{"cmd", "mesh"}};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

// Reads a js node's lines up to the answer to `cmd`, keeping the messages that arrive meanwhile.
asio::awaitable<nlohmann::json> ask(JsPeer& js, const nlohmann::json& cmd,
                                    const std::string& answer, std::vector<std::string>& messages) {
    js.send(cmd);
    for (;;) {
        auto line = co_await js.next();
        const std::string event = line.value("event", "");
        if (event == "message") {
            CHECK(line["data"].get<std::string>().rfind("msg ", 0) == 0);
            messages.push_back(line["data"]);
        } else if (event == answer) {
            co_return line;
        } else if (event == "error") {
            throw std::runtime_error("js peer error: " + line.dump());
        }
    }
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("a ring of swarmd and js-libp2p gossipsub nodes delivers every message once to all",
          "[interop][gossipsub]") {
    asio::io_context io;
    std::vector<std::unique_ptr<GossipNode>> swarmd;
    for (std::size_t i = 0; i < kPerImplementation; ++i) {
        swarmd.push_back(std::make_unique<GossipNode>(io, kHeartbeat));
        swarmd.back()->subscribe(kTopic);
    }
    std::vector<std::unique_ptr<JsPeer>> js;
    for (std::size_t i = 0; i < kPerImplementation; ++i) {
        js.push_back(std::make_unique<JsPeer>(
            io, std::vector<std::string>{"gossip", kTopic, "--heartbeat-ms",
                                         std::to_string(kHeartbeat.count())}));
    }
    std::vector<std::vector<std::string>> js_received(kPerImplementation);
    std::vector<std::string> all_messages;

    testing::run(
        io,
        [&]() -> asio::awaitable<void> {
            std::vector<Multiaddr> js_addrs;
            std::vector<std::string> js_ids;
            for (auto& j : js) {
                auto listening = co_await j->expect("listening");
                js_addrs.push_back(
                    Multiaddr::parse(listening["addrs"][0].get<std::string>()).value());
                js_ids.push_back(listening["peerId"]);
            }
            // S_i dials J_i; J_i dials S_{i+1}: both implementations dial and accept.
            for (std::size_t i = 0; i < kPerImplementation; ++i) {
                auto c = co_await swarmd[i]->host->dial(js_addrs[i]);
                REQUIRE(c);
                const auto& next = swarmd[(i + 1) % kPerImplementation]->addr;
                // (GCC 12 cannot keep a braced json temporary across co_await: name each one.)
                const nlohmann::json dial = {{"cmd", "dial"}, {"addr", next.to_string()}};
                auto dialed = co_await ask(*js[i], dial, "dialed", js_received[i]);
                CHECK(dialed["peerId"] == next.peer_id()->to_base58());
            }
            // Every node meshes with both ring neighbours (fewer peers than D_lo: all of them).
            bool meshed = false;
            for (int attempt = 0; attempt < 200 && !meshed; ++attempt) {
                meshed = std::all_of(swarmd.begin(), swarmd.end(), [](const auto& s) {
                    return s->pubsub->router().mesh_peers(kTopic).size() == 2;
                });
                for (std::size_t i = 0; i < kPerImplementation && meshed; ++i) {
                    auto mesh = co_await ask(*js[i], kMeshCommand, "mesh", js_received[i]);
                    meshed = mesh["mesh"].size() == 2;
                }
                if (!meshed) co_await sleep_for(kHeartbeat);
            }
            REQUIRE(meshed);
            // swarmd's mesh peers are exactly its two js neighbours.
            for (std::size_t i = 0; i < kPerImplementation; ++i) {
                std::vector<std::string> mesh;
                for (const auto& p : swarmd[i]->pubsub->router().mesh_peers(kTopic))
                    mesh.push_back(p.to_base58());
                CHECK(
                    sorted(mesh) ==
                    sorted({js_ids[i], js_ids[(i + kPerImplementation - 1) % kPerImplementation]}));
            }

            for (std::size_t m = 0; m < kMessagesPerNode; ++m) {
                for (std::size_t i = 0; i < kPerImplementation; ++i) {
                    const std::string from_swarmd =
                        "msg " + std::to_string(m) + " from swarmd " + std::to_string(i);
                    REQUIRE(swarmd[i]->pubsub->publish(kTopic, as_bytes(from_swarmd)));
                    all_messages.push_back(from_swarmd);
                    const std::string from_js =
                        "msg " + std::to_string(m) + " from js " + std::to_string(i);
                    const nlohmann::json publish = {{"cmd", "publish"}, {"data", from_js}};
                    auto published = co_await ask(*js[i], publish, "published", js_received[i]);
                    CHECK(published["recipients"].get<int>() >= 1);
                    all_messages.push_back(from_js);
                }
            }
            const std::size_t expected = all_messages.size() - kMessagesPerNode;
            co_await testing::wait_until(
                [&] {
                    return std::all_of(swarmd.begin(), swarmd.end(), [&](const auto& s) {
                        return s->received.size() >= expected;
                    });
                },
                20s);
            for (std::size_t i = 0; i < kPerImplementation; ++i) {
                for (int attempt = 0; attempt < 200 && js_received[i].size() < expected;
                     ++attempt) {
                    auto line = co_await js[i]->next();
                    if (line.value("event", "") == "message")
                        js_received[i].push_back(line["data"]);
                }
            }
            // A few heartbeats of IHAVE/IWANT gossip later, still nothing twice.
            co_await sleep_for(kHeartbeat * 10);
            for (std::size_t i = 0; i < kPerImplementation; ++i)
                co_await ask(*js[i], kMeshCommand, "mesh", js_received[i]);
        },
        90s);

    auto others = [&](const std::string& self) {
        std::vector<std::string> want;
        for (const auto& m : all_messages) {
            if (m.size() < self.size() || m.compare(m.size() - self.size(), self.size(), self) != 0)
                want.push_back(m);
        }
        return sorted(want);
    };
    for (std::size_t i = 0; i < kPerImplementation; ++i) {
        INFO("swarmd node " << i);
        CHECK(sorted(swarmd[i]->received) == others("from swarmd " + std::to_string(i)));
        INFO("js node " << i);
        CHECK(sorted(js_received[i]) == others("from js " + std::to_string(i)));
    }
}
