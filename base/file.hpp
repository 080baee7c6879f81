#pragma once
// Durable file writes shared by every module that persists state (keys, peer stores,
// checkpoints): write a temporary file beside the target, fsync it, rename over the target,
// fsync the directory. A crash leaves either the old file or the new one, never a torn one.
#include <filesystem>
#include <system_error>

#include "base/bytes.hpp"

namespace swarmd {

enum class Overwrite { allow, refuse };

// Returns std::errc::file_exists when `overwrite` is refuse and the target exists.
std::error_code write_file_atomic(const std::filesystem::path& path, ByteSpan data,
                                  unsigned mode = 0600, Overwrite overwrite = Overwrite::allow);

// Reads a whole regular file, refusing larger ones than max_size (std::errc::file_too_large),
// directories (is_a_directory) and other non-regular files (invalid_argument).
std::error_code read_file(const std::filesystem::path& path, Bytes& out, std::size_t max_size);

// read_file for secrets (keys, tokens): a symlink is refused (ELOOP, opened with O_NOFOLLOW) and
// so is a file with any of `refused_mode_bits` set, checked with fstat on the opened file so no
// rename between the check and the read can swap it; that refusal returns std::errc::
// operation_not_permitted.
std::error_code read_secret_file(const std::filesystem::path& path, Bytes& out,
                                 std::size_t max_size, unsigned refused_mode_bits = 077);

}  // namespace swarmd
