#pragma once
// POSIX file primitives shared by the layers that keep files (util's persister, the block
// store): an owning file descriptor, complete writes, directory fsync. They report the
// operating system's error as a std::error_code; each layer turns it into its own failure.

#include <filesystem>
#include <string_view>
#include <system_error>

#include <sys/types.h>

namespace garage::util {

/** An owning POSIX file descriptor, closed when it goes out of scope.

    @par Thread Safety
    Not synchronised; one owner at a time. */
class unique_fd {
public:
    /** Takes ownership of a descriptor.
        @param fd The descriptor (a negative value owns nothing). */
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    unique_fd(unique_fd const&) = delete;
    unique_fd& operator=(unique_fd const&) = delete;
    /** Moves ownership.
        @param other The owner to take from; it owns nothing afterwards. */
    unique_fd(unique_fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    /** Closes the current descriptor and takes ownership of `other`'s.
        @param other The owner to take from; it owns nothing afterwards.
        @return `*this`. */
    unique_fd& operator=(unique_fd&& other) noexcept;
    ~unique_fd();

    /// @return The descriptor (negative if none).
    int get() const noexcept { return fd_; }
    /// @return Whether a descriptor is owned.
    explicit operator bool() const noexcept { return fd_ >= 0; }

    /** Closes now, reporting the result of close(2) — which for a written file can be the
        first sign of a failed write. @return 0, or -1 with errno set. */
    int close() noexcept;

private:
    int fd_;
};

/** Opens `path` with open(2), retrying on EINTR.
    @param path The file. @param flags open(2) flags. @param mode The mode of a created file.
    @return The descriptor; it owns nothing (and errno is set) on failure. */
unique_fd open_file(std::filesystem::path const& path, int flags, mode_t mode = 0) noexcept;

/** Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    @param fd An open descriptor. @param bytes What to write.
    @return The error of write(2), or a value-initialised code on success. */
std::error_code write_all(int fd, std::string_view bytes) noexcept;

/** fsyncs a directory, so that a rename, creation or unlink in it is durable.
    @param dir The directory (empty means the current one).
    @return The error of open(2) or fsync(2), or a value-initialised code on success. */
std::error_code fsync_dir(std::filesystem::path const& dir) noexcept;

/// @return The current errno as a std::error_code of the generic category.
std::error_code last_error() noexcept;

} // namespace garage::util
