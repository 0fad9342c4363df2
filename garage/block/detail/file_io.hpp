#pragma once
// POSIX file helpers of the block layer: whole-file reads with a size limit, durable writes,
// directory fsync, errno → block::error, and logging kept out of the templates' headers.

#include <garage/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace garage::block::detail {

/// A failure for an operating-system error on `path`: `no_space` for ENOSPC / EDQUOT,
/// otherwise `io_error`; the message names the step and the path.
util::failure io_failure(std::error_code ec, std::string_view what, std::filesystem::path const& path);

/// As above, from an errno value.
util::failure io_failure(int errnum, std::string_view what, std::filesystem::path const& path);

/// The outcome of @ref read_file_limited.
enum class read_status {
    ok,        ///< the content is in `out`
    not_found, ///< the file does not exist
    too_large, ///< the file is larger than the limit (nothing read)
};

/** The extended attribute in which a block file carries the CRC-64 of its bytes (8 bytes,
    little-endian), set when the file is written. A file without it (written by Garage, or on a
    file system without user extended attributes) is simply checked by its hash. */
inline constexpr char const* checksum_xattr = "user.garage.crc64";

/// The CRC-64 of @ref checksum_xattr: ECMA-182 reflected, as xz (ISA-L `crc64_ecma_refl`).
std::uint64_t content_crc64(std::string_view bytes) noexcept;

/** Reads a whole file of at most `max_size` bytes into `out`.
    @param tag When not null, receives the file's @ref checksum_xattr (read from the same open
               file), or nullopt when it has none or it is malformed.
    @return The status, or `io_error` for any other failure. */
util::result<read_status> read_file_limited(std::filesystem::path const& path, std::size_t max_size,
                                            std::string& out, std::optional<std::uint64_t>* tag = nullptr);

/** Creates `path` (which must not exist) with `bytes`; fsyncs it when `sync`. Removes it
    again on failure. Files of 256 KiB and more are written with O_DIRECT (through a reused
    aligned buffer, the unaligned tail buffered), falling back to buffered writes where the
    file system refuses direct I/O.
    @param tag Whether to set @ref checksum_xattr to `content_crc64(bytes)` (best effort: a file
               system that refuses it leaves the file without, which readers accept). */
util::result<void> write_new_file(std::filesystem::path const& path, std::string_view bytes, bool sync,
                                  bool tag = false);

/// fsyncs a directory (so that a rename or unlink in it is durable).
util::result<void> fsync_dir(std::filesystem::path const& dir);

/// Sets a file's modification time to now. @return false if that failed (ignored by callers).
bool touch(std::filesystem::path const& path) noexcept;

/// The modification time of a file in Unix milliseconds, or nullopt if it cannot be read.
std::optional<std::uint64_t> mtime_msec(std::filesystem::path const& path) noexcept;

/// Eight random lower-case hex digits (for temporary file names).
std::string random_hex8();

/// Logging through spdlog, from a .cpp so that headers of this layer stay light.
void log_info(std::string const& message);
void log_warn(std::string const& message);
void log_error(std::string const& message);

} // namespace garage::block::detail
