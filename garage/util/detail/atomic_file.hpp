#pragma once
// Whole-file reads and crash-safe whole-file writes, for persister and other util code.

#include <garage/util/error.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace garage::util::detail {

/** Reads a whole file.
    @return `std::nullopt` when the file does not exist; `error::io_error` naming the path on any
    other failure. */
result<std::optional<std::string>> read_whole_file(std::filesystem::path const& path);

/** Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
    writes `<path>.tmp`, fsyncs it, renames it over `path`, then fsyncs the directory.
    On failure the temporary file is removed.
    @return `error::io_error` naming the path and the failing step. */
result<void> write_file_atomic(std::filesystem::path const& path, std::string_view bytes);

} // namespace garage::util::detail
