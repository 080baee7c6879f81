// The status topic's validator and heartbeat table, in-process: what it refuses and why, how it
// bounds authors per forwarder and in total, and what it hands on to the node.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/ops/metrics.hpp"
#include "node/ops/status_board.hpp"

using namespace swarmd;
using namespace swarmd::node;
using Validation = net::gossipsub::Validation;
using Clock = std::chrono::steady_clock;

namespace {

crypto::PeerId new_peer() {
    return crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
}

net::gossipsub::Delivery delivery(const Bytes& data, const crypto::PeerId& author,
                                  const crypto::PeerId& from) {
    net::gossipsub::Delivery d;
    d.data = data;
    d.author = author;
    d.received_from = from;
    return d;
}

Heartbeat beat_at(std::uint64_t round) {
    Heartbeat b;
    b.trainer = true;
    b.round = round;
    b.merge_state = "training";
    b.version = "test";
    return b;
}

Validation validate(StatusBoard& board, net::gossipsub::Delivery d, Clock::time_point now) {
    return board.validate(d, now);
}

double refused(Metrics& m, std::string_view reason) {
    return static_cast<double>(
        m.counter("swarmd_status_refused_total", "", "reason=\"" + std::string(reason) + "\"")
            .value());
}

struct Board {
    Bytes swarm = Bytes(32, 7);
    crypto::PeerId self = new_peer();
    crypto::PrivateKey operator_key = crypto::PrivateKey::generate();
    Metrics metrics;
    std::set<crypto::PeerId> direct;
    std::vector<crypto::PeerId> forgotten;
    StatusBoard board;

    explicit Board(StatusBoardOptions options)
        : board(
              swarm, self, {crypto::PeerId::from_public_key(operator_key.public_key())}, metrics,
              options, [this](const crypto::PeerId& p) { return direct.contains(p); },
              [this](const crypto::PeerId& p) { forgotten.push_back(p); }) {}
};

}  // namespace

TEST_CASE("the status board rejects what is not a heartbeat or an operator's merge order",
          "[status]") {
    Board b({});
    const auto now = Clock::now();
    const auto peer = new_peer();
    CHECK(validate(b.board, delivery(Bytes{'{', '}'}, peer, peer), now) == Validation::reject);
    CHECK(validate(b.board, delivery(Bytes{'x'}, peer, peer), now) == Validation::reject);
    CHECK(refused(b.metrics, "unknown_type") + refused(b.metrics, "not_json") == 2);

    // A merge order signed by a key the spec does not name is rejected; the operator's passes
    // and is handed on.
    const auto stranger = crypto::PrivateKey::generate();
    CHECK(validate(b.board,
                   delivery(encode_status(MergeOrder::sign(stranger, b.swarm, 5)), peer, peer),
                   now) == Validation::reject);
    CHECK(refused(b.metrics, "not_operator") == 1);
    const auto order = MergeOrder::sign(b.operator_key, b.swarm, 5);
    const auto d = delivery(encode_status(order), peer, peer);
    CHECK(validate(b.board, d, now) == Validation::accept);
    auto got = b.board.receive(d, now);
    REQUIRE(got.order);
    CHECK(got.order->round == 5);
    CHECK_FALSE(got.beat);

    // An order for another swarm does not verify here.
    const auto elsewhere = MergeOrder::sign(b.operator_key, Bytes(32, 8), 5);
    CHECK(validate(b.board, delivery(encode_status(elsewhere), peer, peer), now) ==
          Validation::reject);
}

TEST_CASE("the status board rate-limits each author and ignores (does not reject) what is over",
          "[status]") {
    StatusBoardOptions options;
    options.interval = std::chrono::seconds(1);
    options.burst = 3;
    options.per_interval = 1;
    Board b(options);
    const auto author = new_peer();
    const auto d = delivery(encode_status(beat_at(1)), author, author);
    auto now = Clock::now();
    for (int i = 0; i < 3; ++i) CHECK(validate(b.board, d, now) == Validation::accept);
    CHECK(validate(b.board, d, now) == Validation::ignore);
    CHECK(refused(b.metrics, "rate") == 1);
    now += std::chrono::seconds(1);  // one more token per interval
    CHECK(validate(b.board, d, now) == Validation::accept);
    CHECK(validate(b.board, d, now) == Validation::ignore);
    // Our own heartbeats are never limited.
    const auto own = delivery(encode_status(beat_at(1)), b.self, b.self);
    for (int i = 0; i < 10; ++i) CHECK(validate(b.board, own, now) == Validation::accept);
}

TEST_CASE(
    "the heartbeat table bounds authors per forwarder and in total, and direct peers always get in",
    "[status]") {
    StatusBoardOptions options;
    options.max_authors = 8;
    options.max_per_forwarder = 3;
    Board b(options);
    auto now = Clock::now();
    const auto relay = new_peer();
    std::size_t taken = 0;
    for (int i = 0; i < 6; ++i) {
        auto got =
            b.board.receive(delivery(encode_status(beat_at(10 + i)), new_peer(), relay), now);
        if (got.beat) ++taken;
        now += std::chrono::milliseconds(1);
    }
    CHECK(taken == 3);  // one neighbour brings in at most its share
    CHECK(refused(b.metrics, "table_full") == 3);
    CHECK(b.board.size() == 3);

    // Other neighbours fill the table up to its bound.
    for (int i = 0; i < 10; ++i) {
        b.board.receive(delivery(encode_status(beat_at(1)), new_peer(), new_peer()), now);
        now += std::chrono::milliseconds(1);
    }
    CHECK(b.board.size() == 8);

    // A directly connected peer takes the place of the stalest gossip-only author, and the node
    // hears which one was forgotten.
    const auto neighbour = new_peer();
    b.direct.insert(neighbour);
    auto got = b.board.receive(delivery(encode_status(beat_at(42)), neighbour, neighbour), now);
    REQUIRE(got.beat);
    CHECK(got.beat->round == 42);
    CHECK(b.board.size() == 8);
    REQUIRE(b.forgotten.size() == 1);
    const auto table = b.board.peers_json();
    CHECK(table.contains(neighbour.to_base58()));
    CHECK_FALSE(table.contains(b.forgotten[0].to_base58()));
    CHECK(table[neighbour.to_base58()]["round"] == 42);

    // Our own heartbeats never enter the table.
    CHECK_FALSE(b.board.receive(delivery(encode_status(beat_at(3)), b.self, neighbour), now).beat);
}

TEST_CASE("the heartbeat table forgets authors not heard for forget_after_beats intervals",
          "[status]") {
    StatusBoardOptions options;
    options.interval = std::chrono::seconds(1);
    options.forget_after_beats = 5;
    Board b(options);
    auto now = Clock::now();
    const auto quiet = new_peer(), alive = new_peer();
    b.board.receive(delivery(encode_status(beat_at(1)), quiet, quiet), now);
    b.board.receive(delivery(encode_status(beat_at(1)), alive, alive), now);
    now += std::chrono::seconds(4);
    b.board.receive(delivery(encode_status(beat_at(5)), alive, alive), now);
    now += std::chrono::seconds(2);
    b.board.prune(now);
    CHECK(b.board.size() == 1);
    REQUIRE(b.forgotten.size() == 1);
    CHECK(b.forgotten[0] == quiet);

    // A heartbeat passes on the merge order its author follows.
    auto beat = beat_at(6);
    beat.order = MergeOrder::sign(b.operator_key, b.swarm, 9);
    auto got = b.board.receive(delivery(encode_status(beat), alive, alive), now);
    REQUIRE(got.order);
    CHECK(got.order->round == 9);
    REQUIRE(got.beat);
}
