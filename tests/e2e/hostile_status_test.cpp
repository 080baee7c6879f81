// A hostile libp2p peer against a real swarmd process: over one authenticated connection it
// publishes heartbeats in the names of hundreds of fresh identities (all validly signed), one
// identity's flood, and messages that are not heartbeats. The node's heartbeat table must stay
// within what one neighbour may fill, the flood must be cut to the author's rate, the rest
// rejected, and every refusal counted in /metrics.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/encoding.hpp"
#include "net/gossipsub_message.hpp"
#include "net/host.hpp"
#include "net/length_prefixed.hpp"
#include "tests/e2e/swarm_processes.hpp"
#include "tests/net/attacker.hpp"

using namespace swarmd;
using namespace swarmd::e2e;
namespace asio = boost::asio;

namespace {

constexpr int kFakeTrainers = 600;
constexpr int kFlood = 60;
constexpr int kJunk = 10;
// node/daemon.cpp: the heartbeat table entries one neighbour may bring in, and the burst.
constexpr std::size_t kPerForwarder = 256;
constexpr int kBurst = 8;

std::string fake_heartbeat(int i) {
    return R"({"type":"status","role":"trainer","round":2980,"merge_round":3000,"checkpoints":[[2980,")" +
           std::string(64, 'a') + R"("]],"version":"x)" + std::to_string(i) + "\"}";
}

}  // namespace

TEST_CASE(
    "a hostile peer cannot fill the heartbeat table, flood the status topic or post junk on it",
    "[e2e][hostile]") {
    const auto dir = fs::temp_directory_path() / ("swarmd-hostile-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    SwarmdProcess node(SWARMD_BINARY, dir / "node", {});
    node.start({"--bootstrap-node"});
    std::optional<json> status;
    for (int i = 0; i < 150 && !(status = node.status()); ++i) ::usleep(200 * 1000);
    REQUIRE(status);
    const std::string topic = "swarmd/" + (*status)["swarm_id"].get<std::string>() + "/status/1";
    const std::size_t rss_before = node.memory_kib("VmRSS");

    asio::io_context io;
    net::Host mallory(io.get_executor(), crypto::PrivateKey::generate());
    bool sent = false;
    std::string failure;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto addr = net::Multiaddr::parse(node.p2p_addr());
            auto c = co_await mallory.dial(addr.value());
            if (!c) {
                failure = "dial: " + c.error().message();
                co_return;
            }
            auto s = co_await c.value()->open_stream("/meshsub/1.1.0");
            if (!s) {
                failure = "meshsub stream: " + s.error().message();
                co_return;
            }
            std::vector<net::gossipsub::pb::RPC> rpcs(1);
            auto* sub = rpcs[0].add_subscriptions();
            sub->set_subscribe(true);
            sub->set_topicid(topic);
            auto add = [&](const crypto::PrivateKey& key, const std::string& text,
                           std::uint64_t seqno) {
                if (rpcs.back().publish_size() >= 50) rpcs.emplace_back();
                *rpcs.back().add_publish() = net::gossipsub::make_signed_message(
                    key, crypto::PeerId::from_public_key(key.public_key()), topic, as_bytes(text),
                    seqno, false);
            };
            for (int i = 0; i < kFakeTrainers; ++i)
                add(crypto::PrivateKey::generate(), fake_heartbeat(i), 1);
            const auto flooder = crypto::PrivateKey::generate();
            for (int i = 0; i < kFlood; ++i) add(flooder, fake_heartbeat(100000 + i), 1 + i);
            for (int i = 0; i < kJunk; ++i) {
                add(crypto::PrivateKey::generate(),
                    R"({"type":"chat","text":"buy now )" + std::to_string(i) + "\"}", 1);
            }
            for (const auto& rpc : rpcs) {
                Bytes frame;
                const auto body = rpc.SerializeAsString();
                net::append_length_prefixed(frame, as_bytes(body));
                if (auto w = co_await s.value()->write(frame); !w) {
                    failure = "write: " + w.error().message();
                    co_return;
                }
            }
            sent = true;
            // Keep the connection while the node works through it.
            asio::steady_timer wait(io, std::chrono::seconds(4));
            co_await wait.async_wait(asio::use_awaitable);
            io.stop();  // the host's own tasks would keep the context running
        },
        [&](std::exception_ptr e) {
            if (e) failure = "hostile peer task threw";
            io.stop();
        });
    io.run();
    INFO(node.log_tail());
    REQUIRE(failure.empty());
    REQUIRE(sent);

    auto after = node.status();
    REQUIRE(after);
    const auto table = (*after)["swarm_peers"].size();
    const double table_full = node.metric(R"(swarmd_status_refused_total{reason="table_full"})");
    const double rate = node.metric(R"(swarmd_status_refused_total{reason="rate"})");
    const double junk = node.metric(R"(swarmd_status_refused_total{reason="unknown_type"})");
    INFO("table " << table << ", table_full " << table_full << ", rate " << rate << ", junk "
                  << junk);
    CHECK(table >= 1);
    CHECK(table <= kPerForwarder);
    CHECK(table_full >= kFakeTrainers + 1 - static_cast<double>(kPerForwarder));
    CHECK(rate >= kFlood - kBurst - 2);
    CHECK(junk == kJunk);
    const std::size_t growth_mib =
        (node.memory_kib("VmHWM") - std::min(rss_before, node.memory_kib("VmHWM"))) / 1024;
    WARN("status flood: peak RSS of the node grew " << growth_mib << " MiB (bound 32 MiB)");
    CHECK(growth_mib < 32);
    node.kill(SIGTERM);
    fs::remove_all(dir);
}

TEST_CASE("a peer that floods pings and never reads is cut off, the node's memory bounded",
          "[e2e][hostile]") {
    const auto dir = fs::temp_directory_path() / ("swarmd-pingflood-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    SwarmdProcess node(SWARMD_BINARY, dir / "node", {});
    node.start({"--bootstrap-node"});
    std::optional<json> status;
    for (int i = 0; i < 150 && !(status = node.status()); ++i) ::usleep(200 * 1000);
    REQUIRE(status);
    const std::size_t rss_before = node.memory_kib("VmRSS");

    asio::io_context io;
    std::size_t sent = 0;
    std::string failure;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto attacker = co_await net::testing::upgraded_attacker(
                net::Multiaddr::parse(node.p2p_addr()).value());
            Bytes pings;
            for (std::uint32_t i = 0; i < 5000; ++i)
                net::testing::yamux_header(pings, 2, 0x1, 0, i);
            // 512 MiB of pings, never reading a pong: the node must hang up long before.
            while (sent < 512u * 1024 * 1024) {
                auto w = co_await attacker->write_plain(pings);
                if (!w) break;
                sent += pings.size();
            }
            if (sent >= 512u * 1024 * 1024) failure = "the node never hung up";
            io.stop();
        },
        [&](std::exception_ptr e) {
            if (e) failure = "attacker task threw";
            io.stop();
        });
    io.run_for(std::chrono::seconds(120));
    INFO(node.log_tail());
    REQUIRE(failure.empty());
    double cut = 0;
    for (int i = 0;
         i < 50 && (cut = node.metric(
                        R"(swarmd_net_connections_failed_total{reason="peer_not_reading"})")) < 1;
         ++i)
        ::usleep(100 * 1000);
    CHECK(cut == 1);
    const std::size_t growth_mib =
        (node.memory_kib("VmHWM") - std::min(rss_before, node.memory_kib("VmHWM"))) / 1024;
    WARN("ping flood on a real node: " << sent / (1024 * 1024) << " MiB of pings, peak RSS grew "
                                       << growth_mib << " MiB (bound 128 MiB)");
    CHECK(growth_mib < 128);
    CHECK(node.status());  // still serving
    node.kill(SIGTERM);
    fs::remove_all(dir);
}
