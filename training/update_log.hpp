#pragma once
// The durable, append-only update log. One record per accepted update:
//   u32le payload_len | u32le crc32(payload) | payload
//   payload = u8 version (1) | u64le round | u32le index | i8 q | u8 author_len | author
// Each append is one write() followed by fdatasync (unless disabled). On open, records are read
// until the first torn or corrupt one; the file is truncated there and the loss is logged and
// reported (dropped_tail_bytes), never silently applied.
#include <cstdint>
#include <filesystem>
#include <set>
#include <tuple>
#include <vector>

#include "crypto/result.hpp"
#include "training/zo.hpp"

namespace swarmd::training {

struct LogOptions {
    static constexpr std::uint64_t kDefaultFutureWindow = 4;
    static constexpr std::size_t kMaxAuthorBytes = 64;
    static constexpr std::uint64_t kDefaultMaxFileBytes = std::uint64_t{1} << 32;

    std::uint64_t future_window = kDefaultFutureWindow;  // rounds accepted beyond the current one
    bool sync = true;                                    // fdatasync after every append
    std::uint64_t max_file_bytes = kDefaultMaxFileBytes;
};

enum class Admission {
    accepted,
    duplicate,  // (author, round, index) already in the log (whatever its q)
    future,     // round > current_round + future_window
};

class UpdateLog {
  public:
    static Result<UpdateLog> open(const std::filesystem::path& path,
                                  const LogOptions& options = {});

    UpdateLog(UpdateLog&& other) noexcept;
    UpdateLog& operator=(UpdateLog&& other) noexcept;
    UpdateLog(const UpdateLog&) = delete;
    UpdateLog& operator=(const UpdateLog&) = delete;
    ~UpdateLog();

    // Appends u if it is new and not too far in the future. Errc::bad_update for an author over
    // kMaxAuthorBytes; Errc::io if the record could not be made durable (the log is unchanged).
    Result<Admission> append(const Update& u, std::uint64_t current_round);

    bool contains(const Update& u) const;
    const std::vector<Update>& updates() const noexcept { return m_updates; }  // arrival order
    std::uint64_t dropped_tail_bytes() const noexcept { return m_dropped; }
    std::uint64_t file_bytes() const noexcept { return m_size; }

  private:
    UpdateLog() = default;
    using Key = std::tuple<Bytes, std::uint64_t, std::uint32_t>;
    static Key key(const Update& u) { return {u.author, u.round, u.index}; }

    int m_fd = -1;
    LogOptions m_options;
    std::vector<Update> m_updates;
    std::set<Key> m_seen;
    std::uint64_t m_size = 0;
    std::uint64_t m_dropped = 0;
};

// The record encoding, exposed for tests and for the sync protocol's log ranges.
Bytes encode_record(const Update& u);

}  // namespace swarmd::training
