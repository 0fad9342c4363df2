#include <garage/util/detail/atomic_file.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace garage::util::detail {
namespace {

failure io_failure(std::string_view step, std::filesystem::path const& path, int err)
{
    return failure(error::io_error, std::string(step) + " " + path.string() + ": " + std::strerror(err));
}

/// Closes a file descriptor on scope exit unless released.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(fd_guard const&) = delete;
    fd_guard& operator=(fd_guard const&) = delete;
    ~fd_guard()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const noexcept { return fd_; }
    /// Closes now and reports the result of close(2).
    int close() noexcept
    {
        int const r = ::close(fd_);
        fd_ = -1;
        return r;
    }

private:
    int fd_;
};

int open_retry(char const* path, int flags, mode_t mode = 0)
{
    int fd;
    do {
        fd = ::open(path, flags, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

} // namespace

result<std::optional<std::string>> read_whole_file(std::filesystem::path const& path)
{
    fd_guard fd(open_retry(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) {
            return std::optional<std::string>();
        }
        return io_failure("cannot open", path, errno);
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
        out.reserve(static_cast<std::size_t>(st.st_size));
    }
    char buf[64 * 1024];
    for (;;) {
        ssize_t const n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_failure("cannot read", path, errno);
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return std::optional<std::string>(std::move(out));
}

result<void> write_file_atomic(std::filesystem::path const& path, std::string_view bytes)
{
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    auto fail = [&](std::string_view step, std::filesystem::path const& which, int err) {
        ::unlink(tmp.c_str());
        return io_failure(step, which, err);
    };

    fd_guard fd(open_retry(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        return io_failure("cannot create", tmp, errno);
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t const n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("cannot write", tmp, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot fsync", tmp, errno);
    }
    if (fd.close() != 0) {
        return fail("cannot close", tmp, errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail("cannot rename to", path, errno);
    }

    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    fd_guard dfd(open_retry(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() < 0) {
        return io_failure("cannot open directory", dir, errno);
    }
    if (::fsync(dfd.get()) != 0) {
        return io_failure("cannot fsync directory", dir, errno);
    }
    return {};
}

} // namespace garage::util::detail
