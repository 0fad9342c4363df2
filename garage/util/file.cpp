#include <garage/util/file.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace garage::util {

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept
{
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

unique_fd::~unique_fd()
{
    close();
}

int unique_fd::close() noexcept
{
    if (fd_ < 0) {
        return 0;
    }
    int const r = ::close(fd_);
    fd_ = -1;
    return r;
}

unique_fd open_file(std::filesystem::path const& path, int flags, mode_t mode) noexcept
{
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return unique_fd(fd);
}

std::error_code write_all(int fd, std::string_view bytes) noexcept
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t const n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return last_error();
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

std::error_code fsync_dir(std::filesystem::path const& dir) noexcept
{
    auto fd = open_file(dir.empty() ? std::filesystem::path(".") : dir, O_RDONLY | O_DIRECTORY);
    if (!fd) {
        return last_error();
    }
    if (::fsync(fd.get()) != 0) {
        return last_error();
    }
    return {};
}

std::error_code last_error() noexcept
{
    return {errno, std::generic_category()};
}

} // namespace garage::util
