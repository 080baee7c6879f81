#pragma once
// The durable, append-only update log. One record per accepted update:
//   u32le payload_len | u32le crc32(payload) | payload
//   payload = u8 version (3) | u64le round | u32le index | i8 q | u64le ticket | u64le seqno |
//             signature (64) | u8 author_len | author
// seqno and signature are the author's StrictSign evidence for the update (see SignedUpdate), so
// that what the log serves to others can be re-verified by them.
// Each append is one write() followed by fdatasync (unless disabled). On open, records are read
// until the first torn or corrupt one; the file is truncated there and the loss is logged and
// reported (dropped_tail_bytes), never silently applied. A whole record of another format
// version (version 1 logs carried no signatures, version 2 no author tickets) fails the open
// with Errc::unsupported_log and leaves the file untouched.
#include <cstdint>
#include <filesystem>
#include <set>
#include <tuple>
#include <vector>

#include "base/result.hpp"
#include "crypto/keys.hpp"
#include "training/zo.hpp"

namespace swarmd::training {

// What lets anyone re-verify that an update's author made it: the seqno and Ed25519 signature
// of the author's gossip message that carries it (node/zo/wire.hpp: the message's data is the
// update's encoding, its topic follows from the swarm id, its author key from the peer id).
struct UpdateSignature {
    std::uint64_t seqno = 0;
    crypto::Signature bytes{};

    friend bool operator==(const UpdateSignature&, const UpdateSignature&) = default;
};

struct SignedUpdate {
    Update update;
    UpdateSignature signature;

    friend bool operator==(const SignedUpdate&, const SignedUpdate&) = default;
};

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
    // Errc::unsupported_log for a log of another format version; Errc::io when unreadable.
    static Result<UpdateLog> open(const std::filesystem::path& path,
                                  const LogOptions& options = {});

    UpdateLog(UpdateLog&& other) noexcept;
    UpdateLog& operator=(UpdateLog&& other) noexcept;
    UpdateLog(const UpdateLog&) = delete;
    UpdateLog& operator=(const UpdateLog&) = delete;
    ~UpdateLog();

    // Appends u if it is new and not too far in the future. The signature is stored, not
    // checked: callers append only what they verified (or signed). Errc::bad_update for an
    // author over kMaxAuthorBytes; Errc::io if the record could not be made durable (the log is
    // unchanged).
    Result<Admission> append(const SignedUpdate& u, std::uint64_t current_round);

    bool contains(const Update& u) const;
    const std::vector<Update>& updates() const noexcept { return m_updates; }  // arrival order
    // signatures()[i] is the evidence of updates()[i].
    const std::vector<UpdateSignature>& signatures() const noexcept { return m_signatures; }
    SignedUpdate signed_update(std::size_t i) const { return {m_updates[i], m_signatures[i]}; }
    std::uint64_t dropped_tail_bytes() const noexcept { return m_dropped; }
    std::uint64_t file_bytes() const noexcept { return m_size; }

  private:
    UpdateLog() = default;
    using Key = std::tuple<Bytes, std::uint64_t, std::uint32_t>;
    static Key key(const Update& u) { return {u.author, u.round, u.index}; }

    int m_fd = -1;
    LogOptions m_options;
    std::vector<Update> m_updates;
    std::vector<UpdateSignature> m_signatures;
    std::set<Key> m_seen;
    std::uint64_t m_size = 0;
    std::uint64_t m_dropped = 0;
};

// The record encoding, exposed for tests and benchmarks.
Bytes encode_record(const SignedUpdate& u);

}  // namespace swarmd::training
