// Test that header file is self-contained.
#include <garage/block/layout.hpp>

#include <test/block/fixtures.hpp>

#include <garage/block/error.hpp>
#include <garage/util/persister.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

namespace {
using namespace garage;
using block::data_layout;
using block::drive_npart;
using test::dir_with_capacity;
using test::read_only_dir;
namespace fs = std::filesystem;

std::vector<std::size_t> primary_counts(data_layout const& l)
{
    std::vector<std::size_t> n(l.data_dirs().size(), 0);
    for (std::size_t p = 0; p < drive_npart; ++p) {
        ++n.at(l.primary(p));
    }
    return n;
}

util::hash32 hash_with(std::uint8_t b0, std::uint8_t b1, std::uint8_t b2, std::uint8_t b3)
{
    util::hash32 h;
    h[0] = b0;
    h[1] = b1;
    h[2] = b2;
    h[3] = b3;
    return h;
}

TEST_CASE("the slice of a hash is u16_be(hash[2..4]) modulo 1024", "[block][layout]")
{
    CHECK(data_layout::partition_of(hash_with(0xff, 0xff, 0, 0)) == 0);
    CHECK(data_layout::partition_of(hash_with(0, 0, 0x00, 0x01)) == 1);
    CHECK(data_layout::partition_of(hash_with(0, 0, 0x03, 0xff)) == 1023);
    CHECK(data_layout::partition_of(hash_with(0, 0, 0x04, 0x00)) == 0);
    CHECK(data_layout::partition_of(hash_with(0, 0, 0xab, 0xcd)) == (0xabcd % 1024));
}

TEST_CASE("block paths are <dir>/<hex byte 0>/<hex byte 1>/<64 hex digits>[.zst]", "[block][layout]")
{
    auto h = hash_with(0xab, 0x0c, 1, 2);
    CHECK(data_layout::block_dir("/d", h) == fs::path("/d/ab/0c"));
    CHECK(data_layout::block_file_name(h, false) == h.to_hex());
    CHECK(data_layout::block_file_name(h, true) == h.to_hex() + ".zst");
    CHECK(h.to_hex().size() == 64);
}

TEST_CASE("slices are shared out in proportion to capacity", "[block][layout]")
{
    test::temp_dir t;
    std::vector<util::data_dir_config> dirs{dir_with_capacity(t.path() / "a", 1000),
                                            dir_with_capacity(t.path() / "b", 2000),
                                            dir_with_capacity(t.path() / "c", 1000)};
    auto l = data_layout::initialize(dirs).value();
    CHECK(primary_counts(l) == std::vector<std::size_t>{256, 512, 256});
    for (std::size_t p = 0; p < drive_npart; ++p) {
        CHECK(l.secondaries(p).empty()); // the directories did not exist: nothing to find there
    }

    // Uneven capacities still add up to every slice.
    std::vector<util::data_dir_config> odd{dir_with_capacity(t.path() / "a", 3),
                                           dir_with_capacity(t.path() / "b", 7)};
    auto n = primary_counts(data_layout::initialize(odd).value());
    CHECK(n[0] + n[1] == drive_npart);
    CHECK(n[0] == 307);

    // Huge capacities (petabytes) do not overflow.
    std::vector<util::data_dir_config> huge{dir_with_capacity(t.path() / "a", 1ull << 62),
                                            dir_with_capacity(t.path() / "b", 1ull << 62)};
    CHECK(primary_counts(data_layout::initialize(huge).value()) == std::vector<std::size_t>{512, 512});
}

TEST_CASE("a plain data_dir string owns every slice", "[block][layout]")
{
    test::temp_dir t;
    std::vector<util::data_dir_config> one{{t.path() / "data", std::nullopt, false}};
    auto l = data_layout::initialize(one).value();
    CHECK(primary_counts(l) == std::vector<std::size_t>{1024});
    CHECK_FALSE(l.data_dirs()[0].is_read_only());
}

TEST_CASE("unusable data_dir configurations are refused with the directory named", "[block][layout]")
{
    test::temp_dir t;
    auto const a = t.path() / "a";
    auto check = [](std::vector<util::data_dir_config> dirs, std::string const& needle) {
        auto r = data_layout::initialize(dirs);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == block::error::invalid_data_dirs);
        CHECK_THAT(r.error().message, Catch::Contains(needle));
    };
    check({}, "no data directory");
    check({dir_with_capacity(a, 0), dir_with_capacity(t.path() / "b", 5)}, "non-zero");
    check({read_only_dir(a)}, "no writable");
    check({dir_with_capacity(a, 5), dir_with_capacity(a, 6)}, "more than once");
    check({dir_with_capacity(a, 5), util::data_dir_config{t.path() / "b", std::nullopt, false}}, "b");
    check({dir_with_capacity(a, 5), util::data_dir_config{t.path() / "b", 5, true}}, "not both");
}

TEST_CASE("a directory that already holds blocks is secondary for every slice", "[block][layout]")
{
    test::temp_dir t;
    fs::create_directories(t.path() / "old" / "ab" / "cd");
    fs::create_directories(t.path() / "new");
    std::vector<util::data_dir_config> dirs{dir_with_capacity(t.path() / "old", 1),
                                            dir_with_capacity(t.path() / "new", 1)};
    auto l = data_layout::initialize(dirs).value();
    for (std::size_t p = 0; p < drive_npart; ++p) {
        if (l.primary(p) == 1) {
            REQUIRE(l.secondaries(p).size() == 1);
            CHECK(l.secondaries(p)[0] == 0);
        } else {
            CHECK(l.secondaries(p).empty());
        }
    }
    auto h = hash_with(0xab, 0xcd, 0, 0);
    auto const part = data_layout::partition_of(h);
    CHECK(l.primary_block_dir(h) ==
          data_layout::block_dir(t.path() / (l.primary(part) == 0 ? "old" : "new"), h));
    CHECK(l.without_secondary_locations().secondaries(part).empty());
}

TEST_CASE("updating the layout moves only the slices it must", "[block][layout]")
{
    test::temp_dir t;
    auto const a = t.path() / "a";
    auto const b = t.path() / "b";
    auto const c = t.path() / "c";
    std::vector<util::data_dir_config> two{dir_with_capacity(a, 1), dir_with_capacity(b, 1)};
    auto l1 = data_layout::initialize(two).value();
    CHECK(l1.update(two).value() == l1);

    // A third directory of the same capacity takes a third of the slices from the others.
    std::vector<util::data_dir_config> three{dir_with_capacity(a, 1), dir_with_capacity(b, 1),
                                             dir_with_capacity(c, 1)};
    auto l2 = l1.update(three).value();
    auto n = primary_counts(l2);
    CHECK(n[0] + n[1] + n[2] == drive_npart);
    CHECK(n[2] == 342);
    std::size_t moved = 0;
    for (std::size_t p = 0; p < drive_npart; ++p) {
        if (l2.primary(p) != l1.primary(p)) {
            ++moved;
            CHECK(l2.primary(p) == 2);
            // The directory it left may still hold its blocks.
            auto sec = l2.secondaries(p);
            CHECK(std::find(sec.begin(), sec.end(), l1.primary(p)) != sec.end());
        } else {
            CHECK(l2.secondaries(p).empty());
        }
    }
    CHECK(moved == n[2]);

    // Making `a` read-only moves all its slices away; `a` stays secondary for them.
    std::vector<util::data_dir_config> ro{read_only_dir(a), dir_with_capacity(b, 1), dir_with_capacity(c, 1)};
    auto l3 = l2.update(ro).value();
    CHECK(primary_counts(l3)[0] == 0);
    for (std::size_t p = 0; p < drive_npart; ++p) {
        if (l2.primary(p) == 0) {
            auto sec = l3.secondaries(p);
            CHECK(std::find(sec.begin(), sec.end(), 0) != sec.end());
        }
        // A directory is never secondary where it is primary.
        auto sec = l3.secondaries(p);
        CHECK(std::find(sec.begin(), sec.end(), l3.primary(p)) == sec.end());
    }

    // Removing a directory drops it from every list.
    std::vector<util::data_dir_config> only_c{dir_with_capacity(c, 1)};
    auto l4 = l3.update(only_c).value();
    CHECK(primary_counts(l4) == std::vector<std::size_t>{1024});
    for (std::size_t p = 0; p < drive_npart; ++p) {
        CHECK(l4.secondaries(p).empty());
    }
}

TEST_CASE("markers are written, remembered, and checked", "[block][layout]")
{
    test::temp_dir t;
    auto const a = t.path() / "a";
    fs::create_directories(a);
    std::vector<util::data_dir_config> dirs{dir_with_capacity(a, 1)};
    auto l = data_layout::initialize(dirs).value();
    REQUIRE(l.check_markers());
    auto const marker = test::read_file(a / "garage-marker");
    CHECK(marker.size() == 64);
    CHECK(l.markers().at(a.string()) == marker);
    CHECK(l.check_markers()); // unchanged: fine

    test::write_file(a / "garage-marker", "something else");
    auto mismatch = l.check_markers();
    REQUIRE_FALSE(mismatch);
    CHECK(mismatch.error().code == block::error::layout_mismatch);
    CHECK_THAT(mismatch.error().message, Catch::Contains(a.string()));

    fs::remove(a / "garage-marker");
    auto missing = l.check_markers();
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == block::error::layout_mismatch);
    CHECK_THAT(missing.error().message, Catch::Contains("mounted"));

    // A layout that remembers no marker adopts the one it finds.
    test::write_file(a / "garage-marker", "adopted");
    auto fresh = data_layout::initialize(dirs).value();
    REQUIRE(fresh.check_markers());
    CHECK(fresh.markers().at(a.string()) == "adopted");
}

TEST_CASE("the layout is persisted in the metadata directory and reloaded", "[block][layout]")
{
    test::temp_dir t;
    auto const meta = t.path() / "meta";
    std::vector<util::data_dir_config> dirs{dir_with_capacity(t.path() / "a", 1),
                                            dir_with_capacity(t.path() / "b", 3)};
    auto l1 = data_layout::load_or_initialize(dirs, meta).value();
    CHECK(fs::is_regular_file(meta / "data_layout"));
    CHECK(fs::is_regular_file(t.path() / "a" / "garage-marker"));
    CHECK(fs::is_regular_file(t.path() / "b" / "garage-marker"));
    auto saved = util::persister<data_layout>(meta / "data_layout").load().value();
    REQUIRE(saved);
    CHECK(*saved == l1);
    CHECK(data_layout::load_or_initialize(dirs, meta).value() == l1);

    // Swapping the disks' mount points is detected.
    fs::rename(t.path() / "a", t.path() / "x");
    fs::rename(t.path() / "b", t.path() / "a");
    fs::rename(t.path() / "x", t.path() / "b");
    auto swapped = data_layout::load_or_initialize(dirs, meta);
    REQUIRE_FALSE(swapped);
    CHECK(swapped.error().code == block::error::layout_mismatch);

    // A corrupt layout file is reported, not silently replaced.
    test::write_file(meta / "data_layout", "garbage");
    auto bad = data_layout::load_or_initialize(dirs, meta);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::error::decode_error);
    CHECK(test::read_file(meta / "data_layout") == "garbage");

    // So is a file that decodes but assigns no slices.
    REQUIRE(util::persister<data_layout>(meta / "data_layout").save(data_layout{}));
    auto empty = data_layout::load_or_initialize(dirs, meta);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == util::error::decode_error);
}

TEST_CASE("a read-only data directory must exist", "[block][layout]")
{
    test::temp_dir t;
    std::vector<util::data_dir_config> dirs{dir_with_capacity(t.path() / "a", 1),
                                            read_only_dir(t.path() / "ro")};
    auto r = data_layout::load_or_initialize(dirs, t.path() / "meta");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::invalid_data_dirs);
}
} // namespace
