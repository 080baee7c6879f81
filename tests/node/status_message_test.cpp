#include <catch2/catch.hpp>

#include <string>

#include "base/encoding.hpp"
#include "crypto/keys.hpp"
#include "node/ops/status_message.hpp"
#include "node/spec/spec.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

const Bytes kSwarm(32, 0x5a);

Bytes text_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

std::error_code error_of(const std::string& text) {
    auto m = decode_status(text_bytes(text), kSwarm);
    REQUIRE_FALSE(m);
    return m.error();
}

Heartbeat full_beat(const crypto::PrivateKey& op) {
    Heartbeat b;
    b.trainer = true;
    b.round = 41;
    b.merge_round = 3000;
    b.checkpoints = {{20, crypto::Digest{1}}, {40, crypto::Digest{2}}};
    b.merge_state = "training";
    b.merged_hash = crypto::Digest{3};
    b.accuracy = 0.5;
    b.peers = 4;
    b.version = "0.1.0";
    b.order = MergeOrder::sign(op, kSwarm, 50);
    b.policy = "small";
    b.reward = 0.25;
    b.base_hash = crypto::Digest{4};
    b.base_parameters = 1234;
    b.commit = BeatCommit{crypto::Digest{5}, 44, 1234};
    b.merged_from = {crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key())};
    return b;
}

}  // namespace

TEST_CASE("heartbeats and merge orders round-trip through the status codec", "[status]") {
    auto op = crypto::PrivateKey::generate();
    const auto beat = full_beat(op);
    auto decoded = decode_status(encode_status(beat), kSwarm);
    REQUIRE(decoded);
    REQUIRE(std::holds_alternative<Heartbeat>(decoded.value()));
    CHECK(std::get<Heartbeat>(decoded.value()) == beat);

    const auto order = MergeOrder::sign(op, kSwarm, 77);
    auto o = decode_status(encode_status(order), kSwarm);
    REQUIRE(o);
    REQUIRE(std::holds_alternative<MergeOrder>(o.value()));
    CHECK(std::get<MergeOrder>(o.value()) == order);
    CHECK(std::get<MergeOrder>(o.value()).signer ==
          crypto::PeerId::from_public_key(op.public_key()));

    Heartbeat relay;  // the fewest fields a heartbeat has
    auto r = decode_status(encode_status(relay), kSwarm);
    REQUIRE(r);
    CHECK(std::get<Heartbeat>(r.value()) == relay);
}

TEST_CASE("a merge order verifies only for its swarm, round and signer", "[status]") {
    auto op = crypto::PrivateKey::generate();
    auto order = MergeOrder::sign(op, kSwarm, 10);
    CHECK(order.verify(kSwarm));
    CHECK_FALSE(order.verify(Bytes(32, 0x5b)));  // another swarm

    auto later = order;
    later.round = 9;  // lowered by whoever passes it on
    CHECK_FALSE(later.verify(kSwarm));
    const auto later_bytes = encode_status(later);
    CHECK(error_of(std::string(later_bytes.begin(), later_bytes.end())) ==
          StatusErrc::bad_order_signature);

    auto other = order;
    other.signer = crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    CHECK_FALSE(other.verify(kSwarm));

    // Passed on in a heartbeat, a forged order spoils the whole heartbeat.
    Heartbeat b;
    b.trainer = true;
    b.order = later;
    auto bytes = encode_status(b);
    CHECK(error_of(std::string(bytes.begin(), bytes.end())) == StatusErrc::bad_order_signature);
}

TEST_CASE("the status decoder refuses what is not a heartbeat or a merge order", "[status]") {
    CHECK(error_of("[1, 2]") == StatusErrc::not_json);
    CHECK(error_of("{\"type\": 1") == StatusErrc::not_json);
    CHECK(error_of("{}") == StatusErrc::unknown_type);
    CHECK(error_of(R"({"type": "chat", "text": "hi"})") == StatusErrc::unknown_type);
    // The old unsigned merge request: no operator, no signature.
    CHECK(error_of(R"({"type": "merge_request", "merge_round": 1})") == StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "junk": "x"})") ==
          StatusErrc::unknown_field);
    CHECK(error_of(R"({"type": "status", "role": "king"})") == StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "round": -1})") ==
          StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "round": "12"})") ==
          StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "merged_hash": "abcd"})") ==
          StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "merge_state": ")" +
                   std::string(65, 'x') + "\"}") == StatusErrc::bad_field);
    std::string many = R"({"type": "status", "role": "trainer", "checkpoints": [)";
    for (int i = 0; i < 9; ++i)
        many += (i ? "," : "") + std::string("[1, \"") + std::string(64, 'a') + "\"]";
    CHECK(error_of(many + "]}") == StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "merged_from": ["not a peer"]})") ==
          StatusErrc::bad_field);
    CHECK(error_of(R"({"type": "status", "role": "trainer", "commit": {"hash": "00"}})") ==
          StatusErrc::bad_field);
    std::string big =
        R"({"type": "status", "role": "trainer", "version": ")" + std::string(5000, 'v') + "\"}";
    CHECK(error_of(big) == StatusErrc::too_large);
}

TEST_CASE("a heartbeat from an older node without SAPO fields or an order decodes", "[status]") {
    const std::string text =
        R"({"type":"status","role":"trainer","round":5,"merge_round":3000,"checkpoints":[],)"
        R"("merge_state":"training","merged_hash":"","accuracy":-1,"peers":2,"version":"0.1.0"})";
    auto m = decode_status(text_bytes(text), kSwarm);
    REQUIRE(m);
    const auto& b = std::get<Heartbeat>(m.value());
    CHECK(b.trainer);
    CHECK(b.round == 5);
    CHECK_FALSE(b.merged_hash);
    CHECK_FALSE(b.order);
}

TEST_CASE("a spec names its merge operators, sorted, and only they change its id",
          "[status][spec]") {
    const auto a =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).to_base58();
    const auto b =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key()).to_base58();
    auto none = parse_spec("");
    auto empty = parse_spec("merge_operators = []");
    auto two = parse_spec("merge_operators = [\"" + a + "\", \"" + b + "\"]");
    auto swapped = parse_spec("merge_operators = [\"" + b + "\", \"" + a + "\"]");
    REQUIRE(none);
    REQUIRE(empty);
    REQUIRE(two);
    REQUIRE(swapped);
    CHECK(SwarmId::of(none.value()) == SwarmId::of(empty.value()));
    CHECK(SwarmId::of(none.value()) == SwarmId::of(default_spec()));
    CHECK_FALSE(SwarmId::of(none.value()) == SwarmId::of(two.value()));
    CHECK(SwarmId::of(two.value()) == SwarmId::of(swapped.value()));
    CHECK(two.value().merge_operators.size() == 2);
    CHECK(std::is_sorted(two.value().merge_operators.begin(), two.value().merge_operators.end()));
    auto reparsed = parse_spec(canonical_text(two.value()));
    REQUIRE(reparsed);
    CHECK(reparsed.value() == two.value());

    auto bad = parse_spec("merge_operators = [\"QmNotAPeer\"]");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().key == "merge_operators[0]");
    auto twice = parse_spec("merge_operators = [\"" + a + "\", \"" + a + "\"]");
    REQUIRE_FALSE(twice);
    CHECK(twice.error().to_string().find("listed twice") != std::string::npos);
}

TEST_CASE("a closed swarm names its trainers; only they may train", "[status][spec][hostile]") {
    const auto key_a = crypto::PrivateKey::generate();
    const auto a = crypto::PeerId::from_public_key(key_a.public_key());
    const auto b = crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    const auto stranger =
        crypto::PeerId::from_public_key(crypto::PrivateKey::generate().public_key());
    auto open = parse_spec("");
    auto closed = parse_spec("trainers = [\"" + b.to_base58() + "\", \"" + a.to_base58() + "\"]");
    REQUIRE(open);
    REQUIRE(closed);
    CHECK(SwarmId::of(open.value()) == SwarmId::of(default_spec()));
    CHECK_FALSE(SwarmId::of(open.value()) == SwarmId::of(closed.value()));
    CHECK(std::is_sorted(closed.value().trainers.begin(), closed.value().trainers.end()));
    auto reparsed = parse_spec(canonical_text(closed.value()));
    REQUIRE(reparsed);
    CHECK(reparsed.value() == closed.value());
    CHECK(may_train(open.value(), stranger.bytes()));
    CHECK(may_train(closed.value(), a.bytes()));
    CHECK(may_train(closed.value(), b.bytes()));
    CHECK_FALSE(may_train(closed.value(), stranger.bytes()));
    CHECK_FALSE(may_train(closed.value(), Bytes{1, 2, 3}));
    auto bad = parse_spec("trainers = [\"" + a.to_base58() + "\", \"nope\"]");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().key == "trainers[1]");
}
