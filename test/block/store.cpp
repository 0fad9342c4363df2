// Test that header file is self-contained.
#include <garage/block/store.hpp>

#include <test/block/fixtures.hpp>

#include <garage/block/detail/file_io.hpp>
#include <garage/block/error.hpp>

#include <cereal/archives/portable_binary.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <sys/xattr.h>
#include <unistd.h>

namespace {
using namespace garage;
using block::block_encoding;
using block::block_store;
using block::data_block;
using block::data_layout;
namespace fs = std::filesystem;

/// A store over one fresh data directory.
struct one_dir {
    test::temp_dir t;
    fs::path data = t.path() / "data";
    block_store store{make_layout(), false, true};

    data_layout make_layout()
    {
        std::vector<util::data_dir_config> dirs{{data, std::nullopt, false}};
        return data_layout::load_or_initialize(dirs, t.path() / "meta").value();
    }
};

TEST_CASE("a written block is found at its path, plain or compressed", "[block][store]")
{
    one_dir f;
    auto b = test::make_block(test::text_data(20000, 1));
    CHECK_FALSE(f.store.find(b.hash));
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, std::nullopt)));
    auto loc = f.store.find(b.hash);
    REQUIRE(loc);
    CHECK(loc->path == data_layout::block_dir(f.data, b.hash) / b.hash.to_hex());
    CHECK(loc->encoding == block_encoding::plain);
    CHECK(loc->primary);
    CHECK(test::read_file(loc->path) == b.data);
    auto raw = f.store.read(*loc).value();
    REQUIRE(raw);
    CHECK(raw->decode(b.hash).value() == b.data);

    // A compressed copy replaces the plain one.
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, 1)));
    auto z = f.store.find(b.hash);
    REQUIRE(z);
    CHECK(z->encoding == block_encoding::compressed);
    CHECK(z->path.filename() == b.hash.to_hex() + ".zst");
    CHECK_FALSE(fs::exists(loc->path));
    CHECK(f.store.find_all(b.hash).size() == 1);

    // A plain copy never replaces a compressed one.
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, std::nullopt)));
    CHECK(f.store.find(b.hash)->encoding == block_encoding::compressed);
    CHECK(f.store.find_all(b.hash).size() == 1);
    CHECK(test::files_under(f.data).size() == 1);
}

TEST_CASE("a block file carries the CRC-64 of its bytes; a read tells whether they still match",
          "[block][store]")
{
    one_dir f;
    // sizes below and above the O_DIRECT threshold (256 KiB), plain and compressed
    auto const [size, level] = GENERATE(table<std::size_t, std::optional<int>>(
        {{20000, std::nullopt}, {300000, std::nullopt}, {20000, 1}, {600000, 1}}));
    auto b = test::make_block(test::text_data(size, 3));
    auto const blk = data_block::encode(b.data, level);
    REQUIRE(f.store.write(b.hash, blk));
    auto loc = f.store.find(b.hash).value();

    // The attribute holds the CRC-64 (ECMA-182 reflected, little-endian) of the file's bytes.
    unsigned char attr[16] = {};
    REQUIRE(::getxattr(loc.path.c_str(), block::detail::checksum_xattr, attr, sizeof attr) == 8);
    std::uint64_t stored = 0;
    for (int i = 7; i >= 0; --i) {
        stored = (stored << 8) | attr[i];
    }
    CHECK(stored == block::detail::content_crc64(blk.bytes()));
    CHECK(block::detail::content_crc64("123456789") == 0x995dc9bbdf1939faULL); // CRC-64/XZ check value

    bool intact = false;
    auto raw = f.store.read(loc, intact).value();
    REQUIRE(raw);
    CHECK(intact);
    CHECK(raw->bytes() == blk.bytes());

    SECTION("a damaged byte no longer matches")
    {
        test::flip_byte(loc.path, fs::file_size(loc.path) / 3);
        auto bad = f.store.read(loc, intact).value();
        REQUIRE(bad);
        CHECK_FALSE(intact);
        CHECK_FALSE(bad->verify(b.hash));
    }
    SECTION("a file without the attribute (written by Garage) reads, not intact")
    {
        REQUIRE(::removexattr(loc.path.c_str(), block::detail::checksum_xattr) == 0);
        auto plain = f.store.read(loc, intact).value();
        REQUIRE(plain);
        CHECK_FALSE(intact);
        CHECK(plain->verify(b.hash));
    }
    SECTION("a damaged or malformed attribute over good bytes is not intact")
    {
        attr[0] ^= 1;
        auto const n = GENERATE(8, 5);
        REQUIRE(::setxattr(loc.path.c_str(), block::detail::checksum_xattr, attr, n, 0) == 0);
        auto good = f.store.read(loc, intact).value();
        REQUIRE(good);
        CHECK_FALSE(intact);
        CHECK(good->verify(b.hash));
    }
}

TEST_CASE("writing a stored block again keeps the file and refreshes its time", "[block][store]")
{
    one_dir f;
    auto b = test::make_block(test::random_data(1000, 2));
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, 1)));
    auto loc = f.store.find(b.hash).value();
    auto const old = fs::file_time_type::clock::now() - std::chrono::hours(2);
    fs::last_write_time(loc.path, old);
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, 1)));
    CHECK(fs::last_write_time(loc.path) > old + std::chrono::hours(1));
    CHECK(test::files_under(f.data).size() == 1);
}

TEST_CASE("a leftover temporary file is not a block and a scrub removes it", "[block][store]")
{
    one_dir f;
    auto b = test::make_block(test::random_data(1000, 3));
    auto const folder = data_layout::block_dir(f.data, b.hash);
    fs::create_directories(folder);
    test::write_file(folder / (b.hash.to_hex() + ".tmp0123abcd"), b.data.substr(0, 10));
    test::write_file(folder / (b.hash.to_hex() + ".zst.tmpdeadbeef"), "partial");
    CHECK_FALSE(f.store.find(b.hash));

    block::scrub_cursor c;
    auto r = f.store.scrub_step(c).value();
    CHECK(r.finished);
    CHECK(r.removed_temporaries == 2);
    CHECK(test::files_under(f.data).empty());
    CHECK(c.finished());
}

TEST_CASE("quarantine renames a copy .corrupted once and counts it", "[block][store]")
{
    one_dir f;
    auto b = test::make_block(test::text_data(1000, 4));
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, 1)));
    auto loc = f.store.find(b.hash).value();
    CHECK(f.store.quarantine(b.hash, loc).value());
    CHECK_FALSE(f.store.quarantine(b.hash, loc).value()); // already gone
    CHECK(f.store.corruptions() == 1);
    CHECK(fs::exists(loc.path.string() + ".corrupted"));
    CHECK(loc.path.filename().string().ends_with(".zst"));
    CHECK_FALSE(f.store.find(b.hash));
}

TEST_CASE("delete_if asks under the block's mutex and deletes every copy", "[block][store]")
{
    one_dir f;
    auto b = test::make_block(test::random_data(1000, 5));
    REQUIRE(f.store.write(b.hash, data_block::encode(b.data, std::nullopt)));
    // A stray compressed copy next to it (as after a crash between rename and unlink).
    auto const folder = data_layout::block_dir(f.data, b.hash);
    test::write_file(folder / (b.hash.to_hex() + ".zst"), block::zstd_compress(b.data, 1).value());
    CHECK(f.store.find_all(b.hash).size() == 2);

    std::size_t seen = 0;
    CHECK(f.store
              .delete_if(b.hash,
                         [&](auto const& copies) -> util::result<bool> {
                             seen = copies.size();
                             CHECK_FALSE(f.store.mutex_of(b.hash).try_lock());
                             return false;
                         })
              .value() == 0);
    CHECK(seen == 2);
    CHECK(f.store.find_all(b.hash).size() == 2);
    CHECK(f.store.delete_if(b.hash, [](auto const&) -> util::result<bool> { return true; }).value() == 2);
    CHECK(f.store.find_all(b.hash).empty());
    // Nothing to delete: the predicate is not asked.
    CHECK(f.store
              .delete_if(b.hash,
                         [](auto const&) -> util::result<bool> {
                             FAIL("asked");
                             return true;
                         })
              .value() == 0);
}

TEST_CASE("a scrub pass visits every block once, in order, and finds corrupt ones", "[block][store]")
{
    one_dir f;
    std::set<util::hash32> written;
    std::vector<test::test_block> blocks;
    for (std::uint32_t i = 0; i < 60; ++i) {
        auto b = test::make_block(test::text_data(3000, 100 + i));
        REQUIRE(f.store.write(b.hash,
                              data_block::encode(b.data, i % 2 == 0 ? std::optional<int>(1) : std::nullopt)));
        written.insert(b.hash);
        blocks.push_back(std::move(b));
    }
    auto bad = f.store.find(blocks[7].hash).value();
    test::flip_byte(bad.path, 100);
    // Unrelated files are skipped.
    test::write_file(f.data / "ab" / "notes.txt", "hello");

    block::scrub_cursor c;
    std::vector<util::hash32> visited;
    std::size_t corrupt = 0;
    double last_progress = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        auto r = f.store.scrub_step(c).value();
        if (r.finished) {
            break;
        }
        REQUIRE(r.checked);
        visited.push_back(*r.checked);
        if (r.corrupt) {
            ++corrupt;
            CHECK(*r.checked == blocks[7].hash);
        }
        CHECK(c.progress(1) >= last_progress);
        last_progress = c.progress(1);
    }
    CHECK(c.finished());
    CHECK(c.progress(1) == 1.0);
    CHECK(visited.size() == written.size());
    CHECK(std::set<util::hash32>(visited.begin(), visited.end()) == written);
    CHECK(std::is_sorted(visited.begin(), visited.end()));
    CHECK(corrupt == 1);
    CHECK(f.store.corruptions() == 1);
    CHECK(fs::exists(bad.path.string() + ".corrupted"));
}

TEST_CASE("a scrub cursor saved midway resumes where it stopped", "[block][store]")
{
    one_dir f;
    for (std::uint32_t i = 0; i < 40; ++i) {
        auto b = test::make_block(test::random_data(100, 200 + i));
        REQUIRE(f.store.write(b.hash, data_block::encode(b.data, 1)));
    }
    block::scrub_cursor c;
    std::set<util::hash32> first;
    for (int i = 0; i < 10; ++i) {
        first.insert(*f.store.scrub_step(c).value().checked);
    }
    // Only the persisted part survives (as through the scrub_info file): the current
    // folder is listed again, so a few blocks may be checked twice, none skipped.
    std::stringstream ss;
    {
        cereal::PortableBinaryOutputArchive out(ss);
        out(c);
    }
    block::scrub_cursor resumed;
    {
        cereal::PortableBinaryInputArchive in(ss);
        in(resumed);
    }
    CHECK(resumed == c);
    std::set<util::hash32> all = first;
    std::size_t steps = 0;
    for (;;) {
        auto r = f.store.scrub_step(resumed).value();
        if (r.finished) {
            break;
        }
        all.insert(*r.checked);
        ++steps;
    }
    CHECK(all.size() == 40);
    CHECK(steps >= 30);
    CHECK(steps <= 31);
}

TEST_CASE("a full disk is reported as no_space, other failures as io_error", "[block][store]")
{
    CHECK(block::detail::io_failure(ENOSPC, "cannot write", "/x").code == block::error::no_space);
    CHECK(block::detail::io_failure(EDQUOT, "cannot write", "/x").code == block::error::no_space);
    auto eio = block::detail::io_failure(EIO, "cannot write", "/x/y");
    CHECK(eio.code == block::error::io_error);
    CHECK_THAT(eio.message, Catch::Contains("/x/y"));

    // A block folder that cannot be created (a file is in the way) is an I/O error.
    one_dir f;
    auto b = test::make_block(test::random_data(100, 9));
    auto const folder = data_layout::block_dir(f.data, b.hash);
    fs::create_directories(folder.parent_path());
    test::write_file(folder, "in the way");
    auto w = f.store.write(b.hash, data_block::encode(b.data, 1));
    REQUIRE_FALSE(w);
    CHECK(w.error().code == block::error::io_error);
}
} // namespace

TEST_CASE("large block files are written whole through direct I/O, with unaligned tails", "[block][store]")
{
    test::temp_dir t;
    // Sizes below, at and above the direct-I/O threshold (256 KiB), aligned or not, and one
    // above the 4 MiB chunk of the aligned buffer.
    for (std::size_t const size : {std::size_t(4096), std::size_t(256 * 1024 - 1), std::size_t(256 * 1024),
                                   std::size_t(1024 * 1024 + 123), std::size_t(9 * 1024 * 1024 + 4097)}) {
        std::string bytes(size, '\0');
        for (std::size_t i = 0; i < size; ++i) {
            bytes[i] = static_cast<char>((i * 131 + size) % 251);
        }
        auto const path = t.path() / ("f" + std::to_string(size));
        REQUIRE(block::detail::write_new_file(path, bytes, false));
        CHECK(fs::file_size(path) == size);
        CHECK(test::read_file(path) == bytes);
        // The file is new: a second write to the same path is refused and leaves it intact.
        CHECK_FALSE(block::detail::write_new_file(path, "other", false));
        CHECK(test::read_file(path) == bytes);
    }
}

TEST_CASE("direct I/O falls back to buffered writes where the file system refuses it", "[block][store]")
{
    // tmpfs (/dev/shm) refuses O_DIRECT on the kernels of Debian 12; either way the file must
    // come out whole.
    REQUIRE(fs::is_directory("/dev/shm"));
    auto const dir = fs::path("/dev/shm") / ("garage-direct-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string const bytes(1024 * 1024 + 7, 'x');
    auto const path = dir / "block";
    auto const r = block::detail::write_new_file(path, bytes, true);
    bool const ok = r && fs::file_size(path) == bytes.size() && test::read_file(path) == bytes;
    fs::remove_all(dir);
    CHECK(ok);
}
