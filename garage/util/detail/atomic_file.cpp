#include <garage/util/detail/atomic_file.hpp>

#include <garage/util/file.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace garage::util::detail {
namespace {

failure io_failure(std::string_view step, std::filesystem::path const& path, std::error_code ec)
{
    return failure(error::io_error, std::string(step) + " " + path.string() + ": " + ec.message());
}

} // namespace

result<std::optional<std::string>> read_whole_file(std::filesystem::path const& path)
{
    auto fd = open_file(path, O_RDONLY);
    if (!fd) {
        if (errno == ENOENT) {
            return std::optional<std::string>();
        }
        return io_failure("cannot open", path, last_error());
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
            return io_failure("cannot read", path, last_error());
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
    auto fail = [&](std::string_view step, std::filesystem::path const& which, std::error_code ec) {
        ::unlink(tmp.c_str());
        return io_failure(step, which, ec);
    };

    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!fd) {
        return io_failure("cannot create", tmp, last_error());
    }
    if (auto ec = write_all(fd.get(), bytes)) {
        return fail("cannot write", tmp, ec);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot fsync", tmp, last_error());
    }
    if (fd.close() != 0) {
        return fail("cannot close", tmp, last_error());
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail("cannot rename to", path, last_error());
    }
    if (auto ec = fsync_dir(path.parent_path())) {
        return io_failure("cannot fsync directory of", path, ec);
    }
    return {};
}

} // namespace garage::util::detail
