// Test that header file is self-contained.
#include <garage/util/file.hpp>

#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace garage;

bool is_open(int fd)
{
    return ::fcntl(fd, F_GETFD) != -1;
}

std::string slurp(std::filesystem::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

TEST_CASE("a unique_fd closes its descriptor when it goes out of scope", "[util][file]")
{
    test::temp_dir dir;
    int raw = -1;
    {
        auto fd = util::open_file(dir.path() / "f", O_WRONLY | O_CREAT, 0600);
        REQUIRE(fd);
        raw = fd.get();
        CHECK(is_open(raw));
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("moving a unique_fd moves ownership and assignment closes the old descriptor", "[util][file]")
{
    test::temp_dir dir;
    auto a = util::open_file(dir.path() / "a", O_WRONLY | O_CREAT, 0600);
    auto b = util::open_file(dir.path() / "b", O_WRONLY | O_CREAT, 0600);
    int const raw_a = a.get();
    int const raw_b = b.get();
    util::unique_fd c(std::move(a));
    CHECK_FALSE(a);
    CHECK(c.get() == raw_a);
    c = std::move(b);
    CHECK_FALSE(is_open(raw_a));
    CHECK(c.get() == raw_b);
    CHECK(c.close() == 0);
    CHECK_FALSE(c);
    CHECK(c.close() == 0); // closing nothing is harmless
}

TEST_CASE("open_file reports a missing file through errno", "[util][file]")
{
    test::temp_dir dir;
    auto fd = util::open_file(dir.path() / "missing", O_RDONLY);
    CHECK_FALSE(fd);
    CHECK(util::last_error() == std::errc::no_such_file_or_directory);
}

TEST_CASE("write_all writes every byte, and fails on a descriptor not open for writing", "[util][file]")
{
    test::temp_dir dir;
    std::string data(3 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 131 % 251);
    }
    {
        auto fd = util::open_file(dir.path() / "big", O_WRONLY | O_CREAT, 0600);
        REQUIRE(fd);
        CHECK_FALSE(util::write_all(fd.get(), data));
    }
    CHECK(slurp(dir.path() / "big") == data);

    auto ro = util::open_file(dir.path() / "big", O_RDONLY);
    REQUIRE(ro);
    CHECK(util::write_all(ro.get(), "x") == std::errc::bad_file_descriptor);
}

TEST_CASE("fsync_dir succeeds on a directory and fails on a missing one", "[util][file]")
{
    test::temp_dir dir;
    CHECK_FALSE(util::fsync_dir(dir.path()));
    CHECK(util::fsync_dir(dir.path() / "nope") == std::errc::no_such_file_or_directory);
}

} // namespace
