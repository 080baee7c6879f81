#pragma once
// An in-memory network of gossipsub routers for tests: sends are delivered in FIFO order at
// the current simulated time, heartbeats advance the clock. No sockets, no sleeps.
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include "crypto/keys.hpp"
#include "net/gossipsub.hpp"

namespace swarmd::net::gossipsub::test {

inline crypto::PrivateKey test_key(std::uint32_t index) {
    Bytes seed(32, 0x5a);
    for (int i = 0; i < 4; ++i) seed[i] = static_cast<std::uint8_t>(index >> (8 * i));
    return crypto::PrivateKey::from_seed(seed);
}

inline Options test_options(std::uint64_t seed) {
    Options o;
    o.rng_seed = seed;
    o.initial_seqno = 1000;
    return o;
}

struct Node {
    std::unique_ptr<Router> router;
    crypto::PeerId id;
    std::vector<Delivery> delivered;
    std::vector<Connect> connects;
    std::vector<Disconnect> disconnects;
};

class Net {
  public:
    // Drops a frame batch when it returns true (from, to, bytes).
    std::function<bool(std::size_t, std::size_t, const Bytes&)> drop;

    std::size_t add(Options options = {}) {
        const std::size_t i = nodes.size();
        if (!options.rng_seed) options.rng_seed = 1000 + i;
        if (!options.initial_seqno) options.initial_seqno = 1;
        auto router = std::make_unique<Router>(test_key(static_cast<std::uint32_t>(i)), options);
        const auto id = router->self();
        nodes.push_back(Node{std::move(router), id, {}, {}, {}});
        index.emplace(id, i);
        return i;
    }
    // `a` dials `b`.
    void connect(std::size_t a, std::size_t b, Protocol pa = Protocol::v11,
                 Protocol pb = Protocol::v11) {
        links.insert({std::min(a, b), std::max(a, b)});
        apply(a, nodes[a].router->add_peer(nodes[b].id, true, pb, now));
        apply(b, nodes[b].router->add_peer(nodes[a].id, false, pa, now));
        run();
    }
    void disconnect(std::size_t a, std::size_t b) {
        links.erase({std::min(a, b), std::max(a, b)});
        apply(a, nodes[a].router->remove_peer(nodes[b].id, now));
        apply(b, nodes[b].router->remove_peer(nodes[a].id, now));
    }
    bool linked(std::size_t a, std::size_t b) const {
        return links.contains({std::min(a, b), std::max(a, b)});
    }
    void apply(std::size_t from, Actions actions) {
        for (auto& s : actions.sends) {
            const auto it = index.find(s.peer);
            if (it == index.end()) continue;
            queue.push_back({from, it->second, std::move(s.data)});
        }
        Node& n = nodes[from];
        for (auto& d : actions.deliveries) n.delivered.push_back(std::move(d));
        for (auto& c : actions.connects) n.connects.push_back(std::move(c));
        for (auto& d : actions.disconnects) {
            const auto it = index.find(d.peer);
            if (it != index.end() && linked(from, it->second)) {
                links.erase({std::min(from, it->second), std::max(from, it->second)});
                apply(it->second, nodes[it->second].router->remove_peer(n.id, now));
            }
            n.disconnects.push_back(std::move(d));
        }
    }
    void run() {
        while (!queue.empty()) {
            auto [from, to, bytes] = std::move(queue.front());
            queue.pop_front();
            if (!linked(from, to)) continue;
            nodes[from].router->on_written(nodes[to].id, bytes.size());
            if (drop && drop(from, to, bytes)) continue;
            apply(to, nodes[to].router->handle_data(nodes[from].id, bytes, now));
        }
    }
    void subscribe(std::size_t i, const std::string& topic) {
        apply(i, nodes[i].router->subscribe(topic, now));
        run();
    }
    void publish(std::size_t i, const std::string& topic, std::string_view data) {
        auto r = nodes[i].router->publish(topic, as_bytes(data), now);
        if (r) apply(i, std::move(r).value());
        run();
    }
    void heartbeats(int count) {
        for (int k = 0; k < count; ++k) {
            now += std::chrono::seconds(1);
            for (std::size_t i = 0; i < nodes.size(); ++i)
                apply(i, nodes[i].router->heartbeat(now));
            run();
        }
    }
    std::size_t count_deliveries(std::size_t i, const std::string& data) const {
        std::size_t n = 0;
        for (const auto& d : nodes[i].delivered) {
            n += std::string(d.data.begin(), d.data.end()) == data ? 1 : 0;
        }
        return n;
    }

    std::vector<Node> nodes;
    std::unordered_map<crypto::PeerId, std::size_t> index;
    std::set<std::pair<std::size_t, std::size_t>> links;
    std::deque<std::tuple<std::size_t, std::size_t, Bytes>> queue;
    Time now{std::chrono::hours(1)};
};

// Splits framed bytes into parsed RPCs.
inline std::vector<pb::RPC> decode_frames(const Bytes& bytes) {
    std::vector<pb::RPC> out;
    LengthPrefixedDecoder decoder(1 << 24);
    if (!decoder.feed(bytes)) return out;
    for (;;) {
        auto f = decoder.next();
        if (!f || !f.value()) break;
        pb::RPC rpc;
        if (rpc.ParseFromArray(f.value()->data(), static_cast<int>(f.value()->size()))) {
            out.push_back(std::move(rpc));
        }
    }
    return out;
}

inline Bytes frame(const pb::RPC& rpc) {
    Bytes out;
    const std::string body = rpc.SerializeAsString();
    append_length_prefixed(out, as_bytes(body));
    return out;
}

}  // namespace swarmd::net::gossipsub::test
