// Test that header file is self-contained.
#include <garage/block/metrics.hpp>

#include <test/block/fixtures.hpp>

#include <garage/block/manager.hpp>
#include <garage/storage/memory_backend.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

using manager_t = block::block_manager<storage::memory_backend>;

TEST_CASE("block reads and writes are counted in block_bytes_read/written and their durations",
          "[block][metrics]")
{
    test::block_fixture<storage::memory_backend> f;
    auto m = manager_t::open(f.db, test::single_dir_options(f.dir.path(), std::nullopt)).value();
    metrics::registry reg;
    block::block_metrics bm(reg);
    m->set_metrics(&bm);

    auto const a = test::make_block(std::string(1000, 'a'));
    auto const b = test::make_block(std::string(500, 'b'));
    REQUIRE(m->write_block(a.hash, a.data));
    REQUIRE(m->write_raw_block(b.hash, block::data_block::plain(b.data)));
    CHECK(bm.bytes_written.value() == 1500);
    CHECK(bm.write_duration.read().count == 2);

    REQUIRE(m->read_block(a.hash));
    REQUIRE(m->read_raw_block(b.hash));
    CHECK(bm.bytes_read.value() == 1500);
    CHECK(bm.read_duration.read().count == 2);

    // a missing block is not a read
    auto const missing = test::make_block("nope");
    CHECK_FALSE(m->read_block(missing.hash));
    CHECK(bm.read_duration.read().count == 2);

    auto const text = reg.render();
    CHECK(text.find("block_bytes_written 1500\n") != std::string::npos);
    CHECK(text.find("block_bytes_read 1500\n") != std::string::npos);
    CHECK(text.find("block_read_duration_count 2\n") != std::string::npos);
    CHECK(text.find("# TYPE block_write_duration histogram\n") != std::string::npos);

    // without metrics nothing is counted
    m->set_metrics(nullptr);
    REQUIRE(m->read_block(a.hash));
    CHECK(bm.bytes_read.value() == 1500);
}

TEST_CASE("compressed blocks count their stored size", "[block][metrics]")
{
    test::block_fixture<storage::memory_backend> f;
    auto m = manager_t::open(f.db, test::single_dir_options(f.dir.path(), 3)).value();
    metrics::registry reg;
    block::block_metrics bm(reg);
    m->set_metrics(&bm);
    auto const a = test::make_block(std::string(100000, 'z'));
    REQUIRE(m->write_block(a.hash, a.data));
    CHECK(bm.bytes_written.value() > 0);
    CHECK(bm.bytes_written.value() < 100000);
    auto r = m->read_block(a.hash);
    REQUIRE(r);
    CHECK(r->size() == 100000);
    CHECK(bm.bytes_read.value() == bm.bytes_written.value());
}

} // namespace
