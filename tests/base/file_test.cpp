#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/file.hpp"

using namespace swarmd;
namespace fs = std::filesystem;

TEST_CASE("files are written atomically with their mode and read back", "[file]") {
    const auto dir = fs::temp_directory_path() / ("swarmd-file-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto path = dir / "state";
    fs::remove(path);
    REQUIRE_FALSE(write_file_atomic(path, as_bytes("one"), 0600));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(write_file_atomic(path, as_bytes("two"), 0600, Overwrite::refuse) ==
          std::errc::file_exists);
    REQUIRE_FALSE(write_file_atomic(path, as_bytes("three"), 0600));
    Bytes data;
    REQUIRE_FALSE(read_file(path, data, 100));
    CHECK(as_string_view(data) == "three");
    CHECK(read_file(path, data, 2) == std::errc::file_too_large);
    CHECK(read_file(dir / "missing", data, 100) == std::errc::no_such_file_or_directory);
    // Not regular files: refused, never read as empty or waited on.
    CHECK(read_file(dir, data, 100) == std::errc::is_a_directory);
    const auto fifo = dir / "fifo";
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(read_file(fifo, data, 100) == std::errc::invalid_argument);
    fs::remove_all(dir);
}

TEST_CASE("secret files refuse symlinks and modes open to others, checked on the opened file",
          "[file][hostile]") {
    const auto dir = fs::temp_directory_path() / ("swarmd-secret-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto path = dir / "secret";
    REQUIRE_FALSE(write_file_atomic(path, as_bytes("key"), 0600));
    Bytes data;
    REQUIRE_FALSE(read_secret_file(path, data, 100));
    CHECK(as_string_view(data) == "key");
    // A link planted where the key should be (pointing at another user's file, say).
    const auto link = dir / "link";
    fs::create_symlink(path, link);
    CHECK(read_secret_file(link, data, 100) == std::errc::too_many_symbolic_link_levels);
    ::chmod(path.c_str(), 0644);
    CHECK(read_secret_file(path, data, 100) == std::errc::operation_not_permitted);
    CHECK_FALSE(read_file(path, data, 100));  // an ordinary read does not care
    fs::remove_all(dir);
}
