#include "training/update_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/endian.hpp"
#include "base/log.hpp"
#include "training/error.hpp"

namespace swarmd::training {

namespace {

constexpr std::uint8_t kVersion = 3;
constexpr std::size_t kHeader = 8;
constexpr std::size_t kSignatureSize = std::tuple_size_v<crypto::Signature>;
// Offsets in the payload.
constexpr std::size_t kRoundAt = 1;
constexpr std::size_t kIndexAt = kRoundAt + 8;
constexpr std::size_t kQAt = kIndexAt + 4;
constexpr std::size_t kTicketAt = kQAt + 1;
constexpr std::size_t kSeqnoAt = kTicketAt + 8;
constexpr std::size_t kSignatureAt = kSeqnoAt + 8;
constexpr std::size_t kAuthorLenAt = kSignatureAt + kSignatureSize;
constexpr std::size_t kFixedPayload = kAuthorLenAt + 1;
constexpr std::size_t kMaxPayload = kFixedPayload + LogOptions::kMaxAuthorBytes;

std::shared_ptr<spdlog::logger> train_log() { return category_log("train"); }

std::uint32_t crc(const std::uint8_t* p, std::size_t n) {
    return static_cast<std::uint32_t>(crc32(0L, p, static_cast<uInt>(n)));
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

Bytes encode_record(const SignedUpdate& s) {
    const Update& u = s.update;
    Bytes payload;
    payload.reserve(kFixedPayload + u.author.size());
    payload.push_back(kVersion);
    append_le(payload, u.round, 8);
    append_le(payload, u.index, 4);
    payload.push_back(static_cast<std::uint8_t>(u.q));
    append_le(payload, u.ticket, 8);
    append_le(payload, s.signature.seqno, 8);
    append(payload, s.signature.bytes);
    payload.push_back(static_cast<std::uint8_t>(u.author.size()));
    append(payload, u.author);
    Bytes out;
    append_le(out, payload.size(), 4);
    append_le(out, crc(payload.data(), payload.size()), 4);
    append(out, payload);
    return out;
}

Result<UpdateLog> UpdateLog::open(const std::filesystem::path& path, const LogOptions& options) {
    UpdateLog log;
    log.m_options = options;
    log.m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (log.m_fd < 0) return make_error_code(Errc::io);
    struct stat st {};
    if (::fstat(log.m_fd, &st) != 0) return make_error_code(Errc::io);
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (file_size > options.max_file_bytes) return make_error_code(Errc::io);
    Bytes data(file_size);
    std::size_t got = 0;
    while (got < data.size()) {
        const ssize_t r =
            ::pread(log.m_fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return make_error_code(Errc::io);
        got += static_cast<std::size_t>(r);
    }

    std::size_t pos = 0;
    const char* why = nullptr;
    while (pos < data.size()) {
        if (data.size() - pos < kHeader) {
            why = "torn record header";
            break;
        }
        const auto len = static_cast<std::size_t>(load_le(&data[pos], 4));
        const auto sum = static_cast<std::uint32_t>(load_le(&data[pos + 4], 4));
        if (len == 0 || len > kMaxPayload) {
            why = "bad record length";
            break;
        }
        if (data.size() - pos - kHeader < len) {
            why = "torn record payload";
            break;
        }
        const std::uint8_t* p = &data[pos + kHeader];
        if (crc(p, len) != sum) {
            why = "record checksum mismatch";
            break;
        }
        if (p[0] != kVersion) {
            // A whole, intact record of another format: not damage to repair but a log this
            // version cannot vouch for (version 1 kept no signatures, version 2 no author
            // tickets). Leave it as it is.
            train_log()->error(
                "update log {}: record format version {} at byte {}, this swarmd writes version "
                "{}; move the log away to start afresh (the node then fetches the swarm's log)",
                path.string(), p[0], pos, kVersion);
            return make_error_code(Errc::unsupported_log);
        }
        if (len < kFixedPayload || p[kAuthorLenAt] != len - kFixedPayload) {
            why = "bad record fields";
            break;
        }
        Update u;
        u.round = load_le(p + kRoundAt, 8);
        u.index = static_cast<std::uint32_t>(load_le(p + kIndexAt, 4));
        u.q = static_cast<std::int8_t>(p[kQAt]);
        u.ticket = load_le(p + kTicketAt, 8);
        u.author.assign(p + kFixedPayload, p + len);
        if (log.m_seen.insert(key(u)).second) {
            UpdateSignature sig;
            sig.seqno = load_le(p + kSeqnoAt, 8);
            std::copy(p + kSignatureAt, p + kSignatureAt + kSignatureSize, sig.bytes.begin());
            log.m_updates.push_back(std::move(u));
            log.m_signatures.push_back(sig);
        }
        pos += kHeader + len;
    }
    if (why != nullptr) {
        log.m_dropped = data.size() - pos;
        train_log()->warn("update log {}: {} at byte {}; dropping the last {} bytes", path.string(),
                          why, pos, log.m_dropped);
        if (::ftruncate(log.m_fd, static_cast<off_t>(pos)) != 0 || ::fdatasync(log.m_fd) != 0) {
            return make_error_code(Errc::io);
        }
    }
    log.m_size = pos;
    if (::lseek(log.m_fd, static_cast<off_t>(pos), SEEK_SET) < 0) return make_error_code(Errc::io);
    return log;
}

UpdateLog::UpdateLog(UpdateLog&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)),
      m_options(other.m_options),
      m_updates(std::move(other.m_updates)),
      m_signatures(std::move(other.m_signatures)),
      m_seen(std::move(other.m_seen)),
      m_size(other.m_size),
      m_dropped(other.m_dropped) {}

UpdateLog& UpdateLog::operator=(UpdateLog&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = std::exchange(other.m_fd, -1);
        m_options = other.m_options;
        m_updates = std::move(other.m_updates);
        m_signatures = std::move(other.m_signatures);
        m_seen = std::move(other.m_seen);
        m_size = other.m_size;
        m_dropped = other.m_dropped;
    }
    return *this;
}

UpdateLog::~UpdateLog() {
    if (m_fd >= 0) ::close(m_fd);
}

bool UpdateLog::contains(const Update& u) const { return m_seen.count(key(u)) != 0; }

Result<Admission> UpdateLog::append(const SignedUpdate& s, std::uint64_t current_round) {
    const Update& u = s.update;
    if (u.author.size() > LogOptions::kMaxAuthorBytes) return make_error_code(Errc::bad_update);
    if (u.round > current_round && u.round - current_round > m_options.future_window) {
        return Admission::future;
    }
    if (contains(u)) return Admission::duplicate;
    const Bytes record = encode_record(s);
    if (!write_all(m_fd, record.data(), record.size()) ||
        (m_options.sync && ::fdatasync(m_fd) != 0)) {
        // Leave no torn record behind: the next append would follow it and be lost on reopen.
        if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0 ||
            ::lseek(m_fd, static_cast<off_t>(m_size), SEEK_SET) < 0) {
            train_log()->error("update log: could not roll back a failed append");
        }
        return make_error_code(Errc::io);
    }
    m_size += record.size();
    m_seen.insert(key(u));
    m_updates.push_back(u);
    m_signatures.push_back(s.signature);
    return Admission::accepted;
}

}  // namespace swarmd::training
