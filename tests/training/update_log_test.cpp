#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <zlib.h>

#include "base/file.hpp"
#include "training/checkpoint.hpp"
#include "training/error.hpp"
#include "training/params.hpp"
#include "training/update_log.hpp"

using namespace swarmd;
using namespace swarmd::training;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("swarmd_log_test_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// An update with a made-up signature that differs per update: the log stores evidence, it
// does not check it (node/zo/sync.hpp does).
SignedUpdate upd(std::uint8_t author, std::uint64_t round, std::uint32_t index, std::int8_t q) {
    SignedUpdate s{{Bytes{0x00, 0x24, author}, round, index, q}, {}};
    s.signature.seqno = (std::uint64_t{author} << 56) | (round << 8) | index;
    for (std::size_t i = 0; i < s.signature.bytes.size(); ++i) {
        s.signature.bytes[i] = static_cast<std::uint8_t>(author * 31 + round * 7 + index + i);
    }
    return s;
}

const ApplyRule kRule{Bytes{1, 2, 3}, ZDist::rademacher, 1e-2f, 0.02f};

}  // namespace

TEST_CASE("update log persists accepted updates across reopen", "[log]") {
    TempDir dir;
    const auto path = dir.path / "updates.log";
    {
        auto log = UpdateLog::open(path).value();
        CHECK(log.append(upd(1, 0, 0, 5), 0).value() == Admission::accepted);
        CHECK(log.append(upd(2, 0, 0, -7), 0).value() == Admission::accepted);
        CHECK(log.append(upd(1, 1, 0, 127), 1).value() == Admission::accepted);
    }
    auto log = UpdateLog::open(path).value();
    CHECK(log.dropped_tail_bytes() == 0);
    REQUIRE(log.updates().size() == 3);
    CHECK(log.signed_update(1) == upd(2, 0, 0, -7));
    CHECK(log.signed_update(2) == upd(1, 1, 0, 127));
    CHECK(log.append(upd(3, 1, 2, -127), 1).value() == Admission::accepted);
    CHECK(UpdateLog::open(path).value().updates().size() == 4);
}

TEST_CASE("duplicates and far-future updates are rejected", "[log]") {
    TempDir dir;
    LogOptions o;
    o.future_window = 2;
    auto log = UpdateLog::open(dir.path / "u.log", o).value();
    CHECK(log.append(upd(1, 5, 0, 5), 5).value() == Admission::accepted);
    // Same (author, round, index) with another byte: an equivocation, not a second update.
    CHECK(log.append(upd(1, 5, 0, -5), 5).value() == Admission::duplicate);
    CHECK(log.append(upd(1, 5, 1, -5), 5).value() == Admission::accepted);
    CHECK(log.append(upd(1, 7, 0, 1), 5).value() == Admission::accepted);
    CHECK(log.append(upd(1, 8, 0, 1), 5).value() == Admission::future);
    CHECK(log.append(upd(1, ~std::uint64_t{0}, 0, 1), 5).value() == Admission::future);
    CHECK(log.updates().size() == 3);
    SignedUpdate big = upd(1, 5, 9, 1);
    big.update.author.resize(LogOptions::kMaxAuthorBytes + 1);
    CHECK(log.append(big, 5).error() == Errc::bad_update);
    // Rejections survive a restart: the duplicate stays rejected after reopening.
    auto reopened = UpdateLog::open(dir.path / "u.log", o).value();
    CHECK(reopened.append(upd(1, 5, 0, 3), 5).value() == Admission::duplicate);
}

TEST_CASE("a torn or corrupt tail is detected and dropped on reopen", "[log]") {
    TempDir dir;
    const auto path = dir.path / "updates.log";
    std::uintmax_t good_size = 0;
    {
        auto log = UpdateLog::open(path).value();
        for (std::uint32_t i = 0; i < 5; ++i) REQUIRE(log.append(upd(1, 0, i, 1), 0).has_value());
        good_size = log.file_bytes();
    }
    const Bytes next = encode_record(upd(2, 0, 0, 9));
    SECTION("torn record") {
        for (std::size_t cut : {std::size_t{1}, std::size_t{7}, next.size() - 1}) {
            {
                std::ofstream f(path, std::ios::binary | std::ios::app);
                f.write(reinterpret_cast<const char*>(next.data()), static_cast<long>(cut));
            }
            auto log = UpdateLog::open(path).value();
            CHECK(log.dropped_tail_bytes() == cut);
            CHECK(log.updates().size() == 5);
            CHECK(fs::file_size(path) == good_size);
        }
    }
    SECTION("flipped bit in the last record") {
        {
            std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
            f.seekp(static_cast<long>(good_size) - 1);
            f.put('\x55');
        }
        auto log = UpdateLog::open(path).value();
        CHECK(log.updates().size() == 4);
        CHECK(log.dropped_tail_bytes() > 0);
        // Appending after recovery yields a clean log again.
        CHECK(log.append(upd(2, 0, 0, 9), 0).value() == Admission::accepted);
        auto again = UpdateLog::open(path).value();
        CHECK(again.dropped_tail_bytes() == 0);
        CHECK(again.updates().size() == 5);
        CHECK(again.signed_update(4) == upd(2, 0, 0, 9));
    }
    SECTION("garbage length") {
        {
            std::ofstream f(path, std::ios::binary | std::ios::app);
            f.write("\xff\xff\xff\x7f\0\0\0\0", 8);
        }
        auto log = UpdateLog::open(path).value();
        CHECK(log.updates().size() == 5);
        CHECK(log.dropped_tail_bytes() == 8);
    }
}

TEST_CASE("update log round-trips each update's signature evidence", "[log]") {
    TempDir dir;
    const auto path = dir.path / "updates.log";
    std::vector<SignedUpdate> written;
    {
        auto log = UpdateLog::open(path).value();
        for (std::uint8_t a = 1; a <= 3; ++a) {
            for (std::uint64_t r = 1; r <= 4; ++r) {
                written.push_back(
                    upd(a, r, static_cast<std::uint32_t>(r % 2), static_cast<std::int8_t>(a * r)));
                REQUIRE(log.append(written.back(), r).value() == Admission::accepted);
            }
        }
        // A duplicate key keeps the first evidence, whatever the second carries.
        auto other = upd(1, 1, 1, 1);
        other.signature.bytes.fill(0xee);
        CHECK(log.append(other, 1).value() == Admission::duplicate);
    }
    auto log = UpdateLog::open(path).value();
    REQUIRE(log.updates().size() == written.size());
    REQUIRE(log.signatures().size() == written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        CHECK(log.signed_update(i) == written[i]);
        CHECK(log.updates()[i] == written[i].update);
    }
    CHECK(log.file_bytes() == written.size() * encode_record(written[0]).size());
}

TEST_CASE("a log of another format version is refused, untouched", "[log]") {
    TempDir dir;
    const auto path = dir.path / "updates.log";
    // A version 1 record, as swarmd 0.1 wrote it: no seqno, no signature.
    Bytes payload{1};
    for (int i = 0; i < 8; ++i) payload.push_back(i == 0 ? 5 : 0);  // round 5
    for (int i = 0; i < 4; ++i) payload.push_back(0);               // index 0
    payload.push_back(0x11);                                        // q
    payload.push_back(3);
    append(payload, Bytes{0x00, 0x24, 0x07});
    const auto sum =
        static_cast<std::uint32_t>(crc32(0L, payload.data(), static_cast<uInt>(payload.size())));
    Bytes v1;
    for (int i = 0; i < 4; ++i) v1.push_back(static_cast<std::uint8_t>(payload.size() >> (8 * i)));
    for (int i = 0; i < 4; ++i) v1.push_back(static_cast<std::uint8_t>(sum >> (8 * i)));
    append(v1, payload);
    REQUIRE_FALSE(write_file_atomic(path, v1));
    auto opened = UpdateLog::open(path);
    REQUIRE(opened.has_error());
    CHECK(opened.error() == Errc::unsupported_log);
    CHECK(fs::file_size(path) == v1.size());  // not "repaired" into an empty log

    SECTION("also behind current records") {
        {
            std::ofstream f(path, std::ios::binary | std::ios::trunc);
            const Bytes good = encode_record(upd(1, 1, 0, 1));
            f.write(reinterpret_cast<const char*>(good.data()), static_cast<long>(good.size()));
            f.write(reinterpret_cast<const char*>(v1.data()), static_cast<long>(v1.size()));
        }
        CHECK(UpdateLog::open(path).error() == Errc::unsupported_log);
    }
}

TEST_CASE("checkpoint plus log suffix equals full canonical replay", "[checkpoint]") {
    TempDir dir;
    std::mt19937_64 rng(9);
    std::vector<float> init(5000);
    for (auto& x : init) x = static_cast<float>(static_cast<int>(rng() % 1000) - 500) / 1000.0f;
    std::vector<Update> log;
    for (std::uint64_t r = 0; r < 20; ++r) {
        for (std::uint8_t a = 0; a < 3; ++a) {
            log.push_back(upd(a, r, 0, static_cast<std::int8_t>(rng() % 255 - 127)).update);
        }
    }
    std::shuffle(log.begin(), log.end(), rng);  // arrival order is not canonical
    auto full = init;
    replay(full, log, kRule);

    const auto ckpt = make_checkpoint(init, log, 9, kRule);
    CHECK(ckpt.update_count == 30);
    REQUIRE_FALSE(save_checkpoint(dir.path / "ckpt", ckpt));
    auto loaded = load_checkpoint(dir.path / "ckpt", init.size());
    REQUIRE(loaded.has_value());
    CHECK(loaded.value().model_hash == ckpt.model_hash);
    CHECK(loaded.value().through_round == 9);
    const auto joined = join_from_checkpoint(loaded.value(), log, kRule);
    CHECK(model_hash(joined) == model_hash(full));

    SECTION("a corrupt or foreign checkpoint is refused") {
        CHECK(load_checkpoint(dir.path / "ckpt", init.size() + 1).error() ==
              Errc::checkpoint_mismatch);
        Bytes raw;
        REQUIRE_FALSE(read_file(dir.path / "ckpt", raw, 1 << 20));
        raw[100] ^= 1;
        REQUIRE_FALSE(write_file_atomic(dir.path / "bad", raw));
        CHECK(load_checkpoint(dir.path / "bad", init.size()).error() == Errc::bad_checkpoint);
        raw.resize(20);
        REQUIRE_FALSE(write_file_atomic(dir.path / "short", raw));
        CHECK(load_checkpoint(dir.path / "short", init.size()).error() == Errc::bad_checkpoint);
        CHECK(load_checkpoint(dir.path / "missing", init.size()).error() == Errc::io);
    }
}
