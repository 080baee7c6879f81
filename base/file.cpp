#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>

namespace swarmd {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

std::error_code write_all(int fd, ByteSpan data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

std::error_code fsync_dir(const std::filesystem::path& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::error_code ec;
    if (::fsync(fd) != 0) ec = last_error();
    ::close(fd);
    return ec;
}

}  // namespace

std::error_code write_file_atomic(const std::filesystem::path& path, ByteSpan data, unsigned mode,
                                  Overwrite overwrite) {
    std::error_code ec;
    if (overwrite == Overwrite::refuse && std::filesystem::exists(path, ec)) {
        return std::make_error_code(std::errc::file_exists);
    }
    const auto dir = path.parent_path();
    std::random_device rd;
    auto tmp = path;
    tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return last_error();
    // The umask may have narrowed the mode; set it exactly.
    if (::fchmod(fd, mode) != 0 || (ec = write_all(fd, data)) || ::fsync(fd) != 0) {
        if (!ec) ec = last_error();
        ::close(fd);
        ::unlink(tmp.c_str());
        return ec;
    }
    ::close(fd);
    if (overwrite == Overwrite::refuse) {
        // link() fails if the target appeared meanwhile, so a concurrent writer is not clobbered.
        if (::link(tmp.c_str(), path.c_str()) != 0) {
            ec = last_error();
            ::unlink(tmp.c_str());
            return ec;
        }
        ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ec = last_error();
        ::unlink(tmp.c_str());
        return ec;
    }
    return fsync_dir(dir);
}

namespace {

std::error_code read_opened(const std::filesystem::path& path, Bytes& out, std::size_t max_size,
                            int extra_flags, unsigned refused_mode_bits) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra_flags);
    if (fd < 0) return last_error();
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        auto ec = last_error();
        ::close(fd);
        return ec;
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & refused_mode_bits) != 0) {
        ::close(fd);
        return std::make_error_code(std::errc::operation_not_permitted);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return std::make_error_code(std::errc::is_a_directory);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::make_error_code(std::errc::invalid_argument);
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_size) {
        ::close(fd);
        return std::make_error_code(std::errc::file_too_large);
    }
    out.assign(static_cast<std::size_t>(st.st_size), 0);
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return {};
}

}  // namespace

std::error_code read_file(const std::filesystem::path& path, Bytes& out, std::size_t max_size) {
    return read_opened(path, out, max_size, 0, 0);
}

std::error_code read_secret_file(const std::filesystem::path& path, Bytes& out,
                                 std::size_t max_size, unsigned refused_mode_bits) {
    return read_opened(path, out, max_size, O_NOFOLLOW, refused_mode_bits);
}

}  // namespace swarmd
