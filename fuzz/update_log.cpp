// fuzz-deps: swarmd_training
// An update log file as a crash, a full disk or an older swarmd may have left it: opening it
// either fails cleanly (another format version, unreadable) or recovers every record before the
// first damaged one, truncates the rest, and then appends and reopens consistently.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/check.hpp"
#include "training/update_log.hpp"

using namespace swarmd;
using namespace swarmd::training;
using swarmd::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto path = std::filesystem::temp_directory_path() /
                             ("swarmd_fuzz_update_log_" + std::to_string(::getpid()));
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    LogOptions options;
    options.sync = false;
    options.max_file_bytes = 1 << 20;
    auto log = UpdateLog::open(path, options);
    if (!log) {
        check(std::filesystem::file_size(path) == size);  // refused, not modified
        return 0;
    }
    auto& l = log.value();
    check(l.file_bytes() + l.dropped_tail_bytes() == size);
    check(std::filesystem::file_size(path) == l.file_bytes());
    check(l.signatures().size() == l.updates().size());
    const std::size_t n = l.updates().size();
    SignedUpdate extra{{Bytes{0x00, 0x24, 0x01}, 1, 0, 1}, {7, {}}};
    const auto admitted = l.append(extra, 1);
    check(admitted.has_value());
    auto again = UpdateLog::open(path, options);
    check(again.has_value() && again.value().dropped_tail_bytes() == 0);
    const std::size_t expected = n + (admitted.value() == Admission::accepted ? 1 : 0);
    check(again.value().updates().size() == expected);
    for (std::size_t i = 0; i < n; ++i) check(again.value().signed_update(i) == l.signed_update(i));
    return 0;
}
