#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bootstrap/error.hpp"
#include "bootstrap/peer_store.hpp"

using namespace swarmd;
using namespace swarmd::bootstrap;
namespace fs = std::filesystem;

namespace {
fs::path temp_path(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("swarmd-peerstore-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}
void write_text(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}
}  // namespace

TEST_CASE("peer store round-trips through its file, mode 0600", "[peer_store]") {
    auto path = temp_path("peers.json");
    fs::remove(path);
    CHECK(PeerStore::load(path).value().peers().empty());  // missing file: empty store

    PeerStore store;
    store.observe("12D3KooWA", {"/ip4/10.0.0.1/tcp/4001"}, 100);
    store.observe("12D3KooWB", {"/ip4/10.0.0.2/tcp/4001", "/ip6/::1/tcp/4001"}, 200);
    store.record_failure("12D3KooWA");
    REQUIRE_FALSE(store.save(path));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto loaded = PeerStore::load(path).value();
    REQUIRE(loaded.peers().size() == 2);
    auto best = loaded.candidates(2);
    CHECK(best[0].peer_id == "12D3KooWB");  // no failures, seen later
    CHECK(best[0].addrs.size() == 2);
    CHECK(best[1].failures == 1);
    CHECK(loaded.candidates(1).size() == 1);
}

TEST_CASE("peer store forgets failing peers and stays bounded", "[peer_store]") {
    PeerStore store;
    store.observe("gone", {"/ip4/10.0.0.9/tcp/1"}, 1);
    for (std::uint32_t i = 0; i < PeerStore::kForgetAfterFailures; ++i)
        store.record_failure("gone");
    CHECK(store.peers().empty());

    for (std::size_t i = 0; i < PeerStore::kMaxPeers + 50; ++i) {
        store.observe("peer" + std::to_string(i), {"/ip4/10.0.0.1/tcp/1"},
                      static_cast<std::int64_t>(i));
    }
    CHECK(store.peers().size() == PeerStore::kMaxPeers);
    std::vector<std::string> many;
    for (int i = 0; i < 20; ++i) many.push_back("/ip4/10.0.0.1/tcp/" + std::to_string(i));
    store.observe("peer0", many, 5000);
    CHECK(store.candidates(1)[0].addrs.size() == PeerStore::kMaxAddrsPerPeer);
}

TEST_CASE("malformed peer store files are errors, not crashes", "[peer_store]") {
    auto path = temp_path("bad.json");
    for (const char* text :
         {"", "{", "[]", "{\"version\":1}", "{\"version\":\"1\",\"peers\":[]}",
          "{\"version\":2,\"peers\":[]}", "{\"version\":1,\"peers\":[1]}",
          "{\"version\":1,\"peers\":[{\"id\":3,\"addrs\":[],\"last_seen\":1,\"failures\":0}]}",
          "{\"version\":1,\"peers\":[{\"id\":\"x\",\"addrs\":[7],\"last_seen\":1,\"failures\":0}]}",
          "{\"version\":1,\"peers\":[{\"id\":\"x\",\"addrs\":[],\"last_seen\":1,\"failures\":-1}]"
          "}"}) {
        write_text(path, text);
        auto r = PeerStore::load(path);
        INFO(text);
        REQUIRE(r.has_error());
        CHECK(r.error() == Errc::bad_peer_store);
    }
    write_text(path, std::string(PeerStore::kMaxFileSize + 1, ' '));
    CHECK(PeerStore::load(path).error() == Errc::bad_peer_store);
}
