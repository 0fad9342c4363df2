#include <garage/block/detail/file_io.hpp>

#include <garage/block/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/file.hpp>

#include <isa-l/crc64.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace garage::block::detail {

util::failure io_failure(std::error_code ec, std::string_view what, std::filesystem::path const& path)
{
    auto const code =
        (ec == std::errc::no_space_on_device || ec.value() == EDQUOT) ? error::no_space : error::io_error;
    return util::failure(code, std::string(what) + " " + path.string() + ": " + ec.message());
}

util::failure io_failure(int errnum, std::string_view what, std::filesystem::path const& path)
{
    return io_failure(std::error_code(errnum, std::generic_category()), what, path);
}

std::uint64_t content_crc64(std::string_view bytes) noexcept
{
    return crc64_ecma_refl(0, reinterpret_cast<unsigned char const*>(bytes.data()), bytes.size());
}

namespace {

std::optional<std::uint64_t> get_tag(int fd) noexcept
{
    unsigned char b[8];
    if (::fgetxattr(fd, checksum_xattr, b, sizeof b) != static_cast<ssize_t>(sizeof b)) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | b[i];
    }
    return v;
}

void set_tag(int fd, std::uint64_t v) noexcept
{
    unsigned char b[8];
    for (auto& x : b) {
        x = static_cast<unsigned char>(v & 0xff);
        v >>= 8;
    }
    (void)::fsetxattr(fd, checksum_xattr, b, sizeof b, 0);
}

} // namespace

util::result<read_status> read_file_limited(std::filesystem::path const& path, std::size_t max_size,
                                            std::string& out, std::optional<std::uint64_t>* tag)
{
    out.clear();
    if (tag != nullptr) {
        tag->reset();
    }
    auto fd = util::open_file(path, O_RDONLY);
    if (!fd) {
        if (errno == ENOENT) {
            return read_status::not_found;
        }
        return io_failure(errno, "cannot open", path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return io_failure(errno, "cannot stat", path);
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_size) {
        return read_status::too_large;
    }
    if (tag != nullptr) {
        *tag = get_tag(fd.get());
    }
    // One byte more than the size seen, to notice a file that grew since fstat.
    out.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t done = 0;
    for (;;) {
        if (done == out.size()) {
            if (done > max_size) {
                out.clear();
                return read_status::too_large;
            }
            out.resize(std::min(max_size + 1, done * 2));
        }
        ssize_t const n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_failure(errno, "cannot read", path);
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (done > max_size) {
        out.clear();
        return read_status::too_large;
    }
    out.resize(done);
    return read_status::ok;
}

namespace {

// Large block files are written with O_DIRECT: the bytes go from a reused aligned buffer to the
// device without being copied into the page cache (which costs more CPU than hashing them on
// this kind of VM, and whose dirty pages the kernel must write back later anyway).
constexpr std::size_t direct_align = 4096;
constexpr std::size_t direct_min = 256 * 1024;
constexpr std::size_t direct_chunk = std::size_t(4) << 20;

/// One aligned buffer per writing thread, grown up to `direct_chunk` and kept.
struct aligned_buffer {
    char* data = nullptr;
    std::size_t capacity = 0;
    aligned_buffer() = default;
    aligned_buffer(aligned_buffer const&) = delete;
    aligned_buffer& operator=(aligned_buffer const&) = delete;
    ~aligned_buffer() { std::free(data); }
    char* get(std::size_t n)
    {
        if (n > capacity) {
            std::free(data);
            data = static_cast<char*>(std::aligned_alloc(direct_align, n));
            capacity = data != nullptr ? n : 0;
        }
        return data;
    }
};

std::error_code pwrite_all(int fd, char const* p, std::size_t n, std::size_t offset) noexcept
{
    while (n > 0) {
        ssize_t const w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return util::last_error();
        }
        p += w;
        n -= static_cast<std::size_t>(w);
        offset += static_cast<std::size_t>(w);
    }
    return {};
}

/// Ends O_DIRECT on `fd` (for an unaligned tail, or a file system that refuses it at write time).
bool clear_direct(int fd) noexcept
{
    int const flags = ::fcntl(fd, F_GETFL);
    return flags >= 0 && ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0;
}

/// Writes `bytes` to `fd`, opened with O_DIRECT: the aligned part through the aligned buffer,
/// the rest (and everything, should the file system refuse direct writes) buffered.
std::error_code write_direct(int fd, std::string_view bytes) noexcept
{
    thread_local aligned_buffer buf;
    std::size_t const aligned = bytes.size() / direct_align * direct_align;
    std::size_t off = 0;
    bool direct = true;
    while (direct && off < aligned) {
        std::size_t const n = std::min(direct_chunk, aligned - off);
        char* const b = buf.get(std::min(direct_chunk, aligned));
        if (b == nullptr) {
            direct = false;
            break;
        }
        std::memcpy(b, bytes.data() + off, n);
        ssize_t const w = ::pwrite(fd, b, n, static_cast<off_t>(off));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno != EINVAL) {
            return util::last_error();
        }
        if (w < 0 || static_cast<std::size_t>(w) % direct_align != 0) {
            // refused, or a short write leaving an unaligned offset: the rest goes buffered
            if (w > 0) {
                off += static_cast<std::size_t>(w);
            }
            direct = false;
            break;
        }
        off += static_cast<std::size_t>(w);
    }
    if (off == bytes.size()) {
        return {};
    }
    if (!clear_direct(fd)) {
        return util::last_error();
    }
    return pwrite_all(fd, bytes.data() + off, bytes.size() - off, off);
}

} // namespace

util::result<void> write_new_file(std::filesystem::path const& path, std::string_view bytes, bool sync,
                                  bool tag)
{
    bool direct = bytes.size() >= direct_min;
    auto fd = util::open_file(path, O_WRONLY | O_CREAT | O_EXCL | (direct ? O_DIRECT : 0), 0644);
    if (!fd && direct && errno == EINVAL) {
        // The file system does not do direct I/O (tmpfs, some FUSE): it may have created the
        // file before refusing the flag.
        ::unlink(path.c_str());
        direct = false;
        fd = util::open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    }
    if (!fd) {
        return io_failure(errno, "cannot create", path);
    }
    auto fail = [&](char const* what, std::error_code ec) -> util::failure {
        fd.close();
        ::unlink(path.c_str());
        return io_failure(ec, what, path);
    };
    if (auto ec = direct ? write_direct(fd.get(), bytes) : util::write_all(fd.get(), bytes)) {
        return fail("cannot write", ec);
    }
    if (tag) {
        set_tag(fd.get(), content_crc64(bytes));
    }
    if (sync && ::fsync(fd.get()) != 0) {
        return fail("cannot fsync", util::last_error());
    }
    if (fd.close() != 0) {
        return fail("cannot close", util::last_error());
    }
    return {};
}

util::result<void> fsync_dir(std::filesystem::path const& dir)
{
    if (auto ec = util::fsync_dir(dir)) {
        return io_failure(ec, "cannot fsync directory", dir);
    }
    return {};
}

bool touch(std::filesystem::path const& path) noexcept
{
    return ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0;
}

std::optional<std::uint64_t> mtime_msec(std::filesystem::path const& path) noexcept
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    if (st.st_mtim.tv_sec < 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000 +
           static_cast<std::uint64_t>(st.st_mtim.tv_nsec) / 1000000;
}

std::string random_hex8()
{
    unsigned char bytes[4];
    util::random_bytes(bytes, sizeof bytes);
    return util::to_hex(std::string_view(reinterpret_cast<char const*>(bytes), sizeof bytes));
}

void log_info(std::string const& message)
{
    spdlog::info("{}", message);
}

void log_warn(std::string const& message)
{
    spdlog::warn("{}", message);
}

void log_error(std::string const& message)
{
    spdlog::error("{}", message);
}

} // namespace garage::block::detail
