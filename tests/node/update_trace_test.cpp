// The opt-in update trace that bench/testnet reads: whole lines from concurrent writers, a
// bounded number of them, and a clear error for a path it cannot open.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "node/zo/update_trace.hpp"

using namespace swarmd;
using namespace swarmd::node;

namespace {

std::filesystem::path scratch_file(const char* name) {
    return std::filesystem::temp_directory_path() /
           ("swarmd-trace-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace

TEST_CASE("the update trace writes whole lines from two threads and stops at its bound",
          "[trace]") {
    const auto path = scratch_file("lines");
    std::filesystem::remove(path);
    constexpr int kPerThread = 2000;
    {
        UpdateTrace trace(path, 2 * kPerThread + 10);
        auto write = [&](UpdateTrace::Event event, std::uint8_t author) {
            for (int i = 0; i < kPerThread; ++i) {
                trace.record(event,
                             training::Update{Bytes{0x00, author}, std::uint64_t(i + 1), 0, 1});
            }
        };
        std::thread io(write, UpdateTrace::Event::publish, 0xab);
        write(UpdateTrace::Event::apply, 0xcd);
        io.join();
        // Ten more fit under the bound; the rest are dropped.
        for (int i = 0; i < kPerThread; ++i) {
            trace.record(UpdateTrace::Event::apply, training::Update{Bytes{0x00, 0xef}, 1, 0, 1});
        }
    }
    std::ifstream in(path);
    std::size_t lines = 0, extra = 0;
    std::set<std::pair<std::string, std::uint64_t>> seen;
    for (std::string line; std::getline(in, line); ++lines) {
        std::istringstream s(line);
        std::uint64_t ns = 0, round = 0;
        std::uint32_t index = 9;
        std::string kind, author, rest;
        REQUIRE(s >> ns >> kind >> author >> round >> index);
        CHECK_FALSE(s >> rest);
        CHECK(ns > 0);
        CHECK(index == 0);
        if (author == "00ef") {
            ++extra;
            continue;
        }
        CHECK(((kind == "publish" && author == "00ab") || (kind == "apply" && author == "00cd")));
        seen.emplace(kind, round);
    }
    CHECK(lines == 2 * kPerThread + 10);
    CHECK(extra == 10);
    CHECK(seen.size() == 2 * kPerThread);
    std::filesystem::remove(path);
}

TEST_CASE("the update trace refuses a path it cannot open", "[trace]") {
    CHECK_THROWS_WITH(UpdateTrace("/nonexistent-dir/trace"),
                      Catch::Contains("cannot open the update trace /nonexistent-dir/trace"));
}
