// Test that header file is self-contained.
#include <garage/block/manager.hpp>

#include <test/block/fixtures.hpp>

#include <garage/block/detail/file_io.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sys/xattr.h>
#include <thread>
#include <tuple>

namespace {
using namespace garage;
using namespace std::chrono_literals;
using block::block_encoding;
using block::rc_value;
using block::resync_outcome;
using test::make_block;
namespace fs = std::filesystem;

static_assert(storage::storage_backend<storage::memory_backend>);

template <class Backend>
using manager_t = block::block_manager<Backend>;

template <class Backend>
std::unique_ptr<manager_t<Backend>> open_manager(test::block_fixture<Backend>& f, block::block_options o)
{
    auto m = manager_t<Backend>::open(f.db, std::move(o));
    REQUIRE(m);
    return std::move(*m);
}

template <class Backend>
util::result<void> incref(test::block_fixture<Backend>& f, manager_t<Backend>& m, util::hash32 const& h)
{
    return f.db.transact([&](typename Backend::transaction_type& tx) { return m.incref(tx, h); });
}

template <class Backend>
util::result<void> decref(test::block_fixture<Backend>& f, manager_t<Backend>& m, util::hash32 const& h)
{
    return f.db.transact([&](typename Backend::transaction_type& tx) { return m.decref(tx, h); });
}

/// Runs resync steps until the queue holds nothing due.
template <class M>
std::size_t drain_resync(M& m)
{
    std::size_t processed = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        auto r = m.resync_step();
        REQUIRE(r);
        if (r->outcome == resync_outcome::empty || r->outcome == resync_outcome::waiting) {
            return processed;
        }
        ++processed;
    }
    FAIL("the resync queue does not drain");
    return processed;
}

/// Every test case below runs on both backends.
using backends = std::tuple<storage::memory_backend, storage::lmdb_backend>;

TEMPLATE_LIST_TEST_CASE("blocks round-trip plain and compressed", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    for (std::optional<int> level : {std::optional<int>(), std::optional<int>(1), std::optional<int>(9)}) {
        auto o =
            test::single_dir_options(f.dir.path() / (level ? "z" + std::to_string(*level) : "plain"), level);
        auto m = open_manager(f, o);
        auto b = make_block(test::text_data(300000, 1));
        auto r = make_block(test::random_data(70000, 2));
        CHECK_FALSE(m->has_block(b.hash));
        REQUIRE(m->write_block(b.hash, b.data));
        REQUIRE(m->write_block(r.hash, r.data));
        CHECK(m->has_block(b.hash));
        CHECK(m->read_block(b.hash).value() == b.data);
        CHECK(m->read_block(r.hash).value() == r.data);

        auto loc = m->find_block(b.hash).value();
        CHECK(loc.encoding == (level ? block_encoding::compressed : block_encoding::plain));
        CHECK(loc.path.parent_path() == block::data_layout::block_dir(o.data_dirs[0].path, b.hash));
        if (level) {
            CHECK(fs::file_size(loc.path) < b.data.size() / 2);
            CHECK(m->read_raw_block(b.hash).value().is_compressed());
        } else {
            CHECK(test::read_file(loc.path) == b.data);
        }
        CHECK(m->corruptions() == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("the same block written twice is stored once", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(100000, 3));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(m->write_block(b.hash, b.data));
    CHECK(test::files_under(o.data_dirs[0].path).size() == 1);
    CHECK(m->read_block(b.hash).value() == b.data);
}

TEMPLATE_LIST_TEST_CASE("a plain copy is replaced by a compressed one, never the reverse", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    auto b = make_block(test::text_data(100000, 4));
    auto const data = f.dir.path() / "data";
    {
        auto m = open_manager(f, test::single_dir_options(f.dir.path(), std::nullopt));
        REQUIRE(m->write_block(b.hash, b.data));
        CHECK(m->find_block(b.hash)->encoding == block_encoding::plain);
    }
    {
        auto m = open_manager(f, test::single_dir_options(f.dir.path(), 1));
        CHECK(m->read_block(b.hash).value() == b.data); // the plain copy is still read
        REQUIRE(m->write_block(b.hash, b.data));
        CHECK(m->find_block(b.hash)->encoding == block_encoding::compressed);
        CHECK(test::files_under(data).size() == 1);
    }
    {
        auto m = open_manager(f, test::single_dir_options(f.dir.path(), std::nullopt));
        REQUIRE(m->write_block(b.hash, b.data));
        CHECK(m->find_block(b.hash)->encoding == block_encoding::compressed);
        CHECK(test::files_under(data).size() == 1);
        CHECK(m->read_block(b.hash).value() == b.data);
    }
}

TEMPLATE_LIST_TEST_CASE("a corrupted block is detected, set aside and never returned", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    enum class damage { flip_plain, flip_compressed, truncate_plain, truncate_compressed, empty_compressed };
    auto const d = GENERATE(damage::flip_plain, damage::flip_compressed, damage::truncate_plain,
                            damage::truncate_compressed, damage::empty_compressed);
    bool const compressed =
        d == damage::flip_compressed || d == damage::truncate_compressed || d == damage::empty_compressed;
    auto o = test::single_dir_options(f.dir.path(), compressed ? std::optional<int>(1) : std::nullopt);
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(50000, 5));
    REQUIRE(m->write_block(b.hash, b.data));
    auto loc = m->find_block(b.hash).value();
    auto const size = fs::file_size(loc.path);
    switch (d) {
    case damage::flip_plain:
    case damage::flip_compressed:
        test::flip_byte(loc.path, size / 2);
        break;
    case damage::truncate_plain:
    case damage::truncate_compressed:
        fs::resize_file(loc.path, size - 1);
        break;
    case damage::empty_compressed:
        fs::resize_file(loc.path, 0);
        break;
    }
    CHECK(m->resync_queue_len().value() == 0);

    auto r = m->read_block(b.hash);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::corrupt_block);
    CHECK(r.error().is(util::condition::corrupt_data));
    CHECK_THAT(r.error().message, Catch::Contains(b.hash.to_hex()));
    CHECK(m->corruptions() == 1);
    CHECK_FALSE(fs::exists(loc.path));
    CHECK(fs::exists(loc.path.string() + ".corrupted"));
    CHECK_FALSE(m->has_block(b.hash));
    // A resync is queued at once.
    CHECK(m->resync_queue_len().value() == 1);

    // The next read finds no copy (and never the bad bytes).
    auto again = m->read_block(b.hash);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == block::error::block_not_found);
    CHECK(m->corruptions() == 1);

    // Writing the block again (e.g. a client re-uploads it) repairs it.
    REQUIRE(m->write_block(b.hash, b.data));
    CHECK(m->read_block(b.hash).value() == b.data);
}

TEMPLATE_LIST_TEST_CASE("a block file with a missing or damaged CRC attribute is still served after its hash",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto const level = GENERATE(std::optional<int>(), std::optional<int>(1));
    auto m = open_manager(f, test::single_dir_options(f.dir.path(), level));
    auto b = make_block(test::text_data(50000, 6));
    REQUIRE(m->write_block(b.hash, b.data));
    auto loc = m->find_block(b.hash).value();
    if (GENERATE(true, false)) {
        REQUIRE(::removexattr(loc.path.c_str(), block::detail::checksum_xattr) == 0);
    } else {
        unsigned char const wrong[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        REQUIRE(::setxattr(loc.path.c_str(), block::detail::checksum_xattr, wrong, sizeof wrong, 0) == 0);
    }
    CHECK(m->read_block(b.hash).value() == b.data);
    CHECK(m->read_raw_block(b.hash).value().verify(b.hash));
    CHECK(m->corruptions() == 0);
    CHECK(fs::exists(loc.path));

    // Bad bytes behind a bad attribute are still caught by the hash.
    test::flip_byte(loc.path, fs::file_size(loc.path) / 2);
    auto r = m->read_block(b.hash);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::corrupt_block);
    CHECK(m->corruptions() == 1);
}

TEMPLATE_LIST_TEST_CASE("a block whose last reference is dropped is deleted after the GC delay",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.gc_delay = 0ms;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 6));
    REQUIRE(m->write_block(b.hash, b.data));

    // Two references in one transaction with other writes of the caller.
    auto other = f.db.open_tree("block_ref").value();
    REQUIRE(f.db.transact([&](typename TestType::transaction_type& tx) -> util::result<void> {
        if (auto p = tx.put(other, "ref-1", "x"); !p) {
            return p;
        }
        if (auto r = m->incref(tx, b.hash); !r) {
            return r;
        }
        return m->incref(tx, b.hash);
    }));
    CHECK(m->get_rc(b.hash).value() == rc_value::present(2));
    CHECK(test::read_file(f.dir.path() / "data" / "x").empty()); // (no stray files)

    REQUIRE(decref(f, *m, b.hash));
    CHECK(m->get_rc(b.hash).value() == rc_value::present(1));
    drain_resync(*m); // the incref's presence check is not due yet
    CHECK(m->has_block(b.hash));

    REQUIRE(decref(f, *m, b.hash));
    auto rc = m->get_rc(b.hash).value();
    CHECK(rc.get_state() == rc_value::state::deletable);
    CHECK(rc.is_zero());
    CHECK(drain_resync(*m) == 1);
    CHECK_FALSE(m->has_block(b.hash));
    CHECK(test::files_under(f.dir.path() / "data").empty());
    CHECK(m->get_rc(b.hash).value() == rc_value::absent());
    CHECK(m->rc_len().value() == 0);
    CHECK(m->list_errors().value().empty());
}

TEMPLATE_LIST_TEST_CASE("a reference taken again before the resync keeps the block", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.gc_delay = 0ms;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 7));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(incref(f, *m, b.hash));
    REQUIRE(decref(f, *m, b.hash));
    REQUIRE(incref(f, *m, b.hash));
    CHECK(m->get_rc(b.hash).value() == rc_value::present(1));
    CHECK(drain_resync(*m) == 1);
    CHECK(m->has_block(b.hash));
    CHECK(m->read_block(b.hash).value() == b.data);
}

TEMPLATE_LIST_TEST_CASE("a block is kept until the GC delay has passed", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.gc_delay = 1h;
    o.missing_block_delay = 2h;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 8));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(incref(f, *m, b.hash));
    REQUIRE(decref(f, *m, b.hash));
    auto const at = m->get_rc(b.hash).value().deletable_at().value();
    CHECK(at >= util::now_msec() + 3500000);

    // Queued for after the delay (plus 10 s): nothing due now.
    auto step = m->resync_step().value();
    CHECK(step.outcome == resync_outcome::waiting);
    CHECK(step.wait > 59min);
    // Even when asked early, the block stays, and is looked at again when due.
    REQUIRE(m->put_to_resync(b.hash, 0ms));
    CHECK(m->resync_step().value().outcome == resync_outcome::processed);
    CHECK(m->has_block(b.hash));
    CHECK(m->resync_queue_len().value() >= 1);
}

TEMPLATE_LIST_TEST_CASE("an unreferenced block just written is not deleted before the GC delay",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.gc_delay = 10min;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 9));
    // Written, but its reference is not committed yet (the writer does that next).
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(m->put_to_resync(b.hash, 0ms));
    CHECK(drain_resync(*m) == 1);
    CHECK(m->has_block(b.hash));

    // An old orphan file (no reference at all) is deleted.
    auto loc = m->find_block(b.hash).value();
    fs::last_write_time(loc.path, fs::file_time_type::clock::now() - 1h);
    REQUIRE(m->put_to_resync(b.hash, 0ms));
    CHECK(drain_resync(*m) == 1);
    CHECK_FALSE(m->has_block(b.hash));
}

TEMPLATE_LIST_TEST_CASE("a referenced block that is missing is recorded as a resync error",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.missing_block_delay = 0ms;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 10));
    REQUIRE(incref(f, *m, b.hash)); // referenced, never written here
    auto const before = util::now_msec();
    auto step = m->resync_step().value();
    CHECK(step.outcome == resync_outcome::processed);
    CHECK(step.hash == b.hash);

    auto errors = m->list_errors().value();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].hash == b.hash);
    CHECK(errors[0].refcount == 1);
    CHECK(errors[0].error_count == 1);
    CHECK(errors[0].last_try_msec >= before);
    CHECK(errors[0].next_try_msec == errors[0].last_try_msec + 60000);
    CHECK(m->resync_errors_len().value() == 1);
    // Retried after the back-off: nothing due now.
    CHECK(m->resync_step().value().outcome == resync_outcome::waiting);

    // A resync asked early is postponed to the retry time.
    REQUIRE(m->put_to_resync(b.hash, 0ms));
    auto p = m->resync_step().value();
    CHECK(p.outcome == resync_outcome::postponed);
    CHECK(m->list_errors().value()[0].error_count == 1);

    // retry-now: the next step tries again and the count goes up.
    REQUIRE(m->clear_backoff(b.hash));
    CHECK(m->resync_step().value().outcome == resync_outcome::processed);
    auto e2 = m->list_errors().value();
    REQUIRE(e2.size() == 1);
    CHECK(e2[0].error_count == 2);
    CHECK(e2[0].next_try_msec == e2[0].last_try_msec + 120000);
    CHECK(m->clear_backoff(make_block("nope").hash).error().code == block::error::block_not_found);

    // Once the block is stored, the next resync clears the error.
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(m->clear_backoff(b.hash));
    CHECK(m->resync_step().value().outcome == resync_outcome::processed);
    CHECK(m->list_errors().value().empty());
}

/// A fetcher that serves blocks from a map and records offloads.
struct map_fetcher final : block::block_fetcher {
    std::map<util::hash32, block::data_block>* blocks;
    std::vector<util::hash32>* offloaded;
    util::result<block::data_block> fetch(util::hash32 const& h) override
    {
        auto it = blocks->find(h);
        if (it == blocks->end()) {
            return util::failure(block::error::block_not_found, "no");
        }
        return it->second;
    }
    util::result<void> offload(util::hash32 const& h, block_reader const& read) override
    {
        auto b = read();
        if (!b) {
            return b.error();
        }
        offloaded->push_back(h);
        return {};
    }
};

TEMPLATE_LIST_TEST_CASE("a missing block is fetched through the fetcher, verified, and stored",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.missing_block_delay = 0ms;
    o.gc_delay = 0ms;
    std::map<util::hash32, block::data_block> remote;
    std::vector<util::hash32> offloaded;
    auto fetcher = std::make_unique<map_fetcher>();
    fetcher->blocks = &remote;
    fetcher->offloaded = &offloaded;
    auto m = std::move(manager_t<TestType>::open(f.db, o, std::move(fetcher)).value());

    auto good = make_block(test::text_data(20000, 11));
    auto liar = make_block(test::text_data(20000, 12));
    remote[good.hash] = block::data_block::encode(good.data, 3);
    remote[liar.hash] = block::data_block::encode(test::text_data(20000, 13), 3); // wrong content
    REQUIRE(incref(f, *m, good.hash));
    REQUIRE(incref(f, *m, liar.hash));
    drain_resync(*m);
    CHECK(m->read_block(good.hash).value() == good.data);
    CHECK_FALSE(m->has_block(liar.hash));
    auto errors = m->list_errors().value();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].hash == liar.hash);

    // Before deleting, the block is offered to the fetcher for offloading.
    REQUIRE(decref(f, *m, good.hash));
    drain_resync(*m);
    CHECK_FALSE(m->has_block(good.hash));
    CHECK(offloaded == std::vector<util::hash32>{good.hash});
}

TEMPLATE_LIST_TEST_CASE("a recount hook that finds references keeps the block and fixes the count",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.gc_delay = 0ms;
    auto m = open_manager(f, o);
    auto b = make_block(test::text_data(10000, 14));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(incref(f, *m, b.hash));
    REQUIRE(decref(f, *m, b.hash));
    std::uint64_t refs = 3;
    m->set_rc_recount([&](typename TestType::transaction_type&,
                          util::hash32 const&) -> util::result<std::uint64_t> { return refs; });
    drain_resync(*m);
    CHECK(m->has_block(b.hash));
    CHECK(m->get_rc(b.hash).value() == rc_value::present(3));
}

TEMPLATE_LIST_TEST_CASE("incref and decref commit or abort with the caller's transaction", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, test::single_dir_options(f.dir.path(), 1));
    auto b = make_block("abc");
    auto aborted = f.db.transact([&](typename TestType::transaction_type& tx) -> util::result<void> {
        if (auto r = m->incref(tx, b.hash); !r) {
            return r;
        }
        return util::failure(util::error::timeout, "the caller gives up");
    });
    REQUIRE_FALSE(aborted);
    CHECK(m->get_rc(b.hash).value() == rc_value::absent());
    CHECK(m->resync_queue_len().value() == 0);

    // Dropping a reference that was never taken changes nothing.
    REQUIRE(decref(f, *m, b.hash));
    CHECK(m->get_rc(b.hash).value() == rc_value::absent());

    // A malformed stored count is reported.
    auto rc_tree = f.db.open_tree("block_local_rc").value();
    REQUIRE(f.db.transact(
        [&](typename TestType::transaction_type& tx) { return tx.put(rc_tree, b.hash.view(), "bad"); }));
    auto r = incref(f, *m, b.hash);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::corrupt_metadata);
    CHECK(m->get_rc(b.hash).error().code == block::error::corrupt_metadata);
}

TEMPLATE_LIST_TEST_CASE("blocks spread over data directories in proportion to capacity", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    block::block_options o;
    auto const a = f.dir.path() / "a";
    auto const bdir = f.dir.path() / "b";
    auto const c = f.dir.path() / "c";
    o.data_dirs = {test::dir_with_capacity(a, 100), test::dir_with_capacity(bdir, 200),
                   test::dir_with_capacity(c, 100)};
    o.metadata_dir = f.dir.path() / "meta";
    auto m = open_manager(f, o);
    std::vector<test::test_block> blocks;
    for (std::uint32_t i = 0; i < 800; ++i) {
        blocks.push_back(make_block(test::random_data(64, 1000 + i)));
        REQUIRE(m->write_block(blocks.back().hash, blocks.back().data));
    }
    auto const na = test::files_under(a).size();
    auto const nb = test::files_under(bdir).size();
    auto const nc = test::files_under(c).size();
    CHECK(na + nb + nc == 800);
    // Expected 200 / 400 / 200; six standard deviations of slack.
    CHECK(na > 120);
    CHECK(na < 280);
    CHECK(nb > 310);
    CHECK(nb < 490);
    CHECK(nc > 120);
    CHECK(nc < 280);
    for (auto const& b : blocks) {
        auto loc = m->find_block(b.hash).value();
        CHECK(loc.primary);
        CHECK(loc.dir == m->layout()->primary(block::data_layout::partition_of(b.hash)));
    }
}

TEMPLATE_LIST_TEST_CASE("blocks in a former primary directory are read, and moved when rewritten",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto const a = f.dir.path() / "a";
    auto const bdir = f.dir.path() / "b";
    block::block_options o;
    o.metadata_dir = f.dir.path() / "meta";
    o.data_dirs = {test::dir_with_capacity(a, 100)};
    std::vector<test::test_block> blocks;
    {
        auto m = open_manager(f, o);
        for (std::uint32_t i = 0; i < 100; ++i) {
            blocks.push_back(make_block(test::text_data(500, 2000 + i)));
            REQUIRE(m->write_block(blocks.back().hash, blocks.back().data));
        }
    }
    // A new, larger disk: most slices move to it; `a` stays secondary for them.
    o.data_dirs = {test::dir_with_capacity(a, 100), test::dir_with_capacity(bdir, 300)};
    auto m = open_manager(f, o);
    std::size_t in_secondary = 0;
    for (auto const& b : blocks) {
        auto loc = m->find_block(b.hash).value();
        CHECK(loc.dir == 0);
        in_secondary += loc.primary ? 0 : 1;
        CHECK(m->read_block(b.hash).value() == b.data);
    }
    CHECK(in_secondary > 50);
    // Writing a block again puts it in its primary directory and removes the old copy.
    for (auto const& b : blocks) {
        REQUIRE(m->write_block(b.hash, b.data));
        auto all = m->store().find_all(b.hash);
        REQUIRE(all.size() == 1);
        CHECK(all[0].primary);
    }
    CHECK(test::files_under(bdir).size() == in_secondary);
    CHECK(test::files_under(a).size() == 100 - in_secondary);
}

TEMPLATE_LIST_TEST_CASE("a read-only directory is read but never written", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto const old = f.dir.path() / "old";
    auto const fresh = f.dir.path() / "new";
    block::block_options o;
    o.metadata_dir = f.dir.path() / "meta";
    o.data_dirs = {test::dir_with_capacity(old, 1)};
    std::vector<test::test_block> blocks;
    {
        auto m = open_manager(f, o);
        for (std::uint32_t i = 0; i < 20; ++i) {
            blocks.push_back(make_block(test::text_data(500, 3000 + i)));
            REQUIRE(m->write_block(blocks.back().hash, blocks.back().data));
        }
    }
    o.data_dirs = {test::read_only_dir(old), test::dir_with_capacity(fresh, 1)};
    auto m = open_manager(f, o);
    for (std::size_t p = 0; p < block::drive_npart; ++p) {
        CHECK(m->layout()->primary(p) == 1);
    }
    for (auto const& b : blocks) {
        CHECK(m->read_block(b.hash).value() == b.data);
    }
    auto const before = test::files_under(old);
    for (std::uint32_t i = 0; i < 20; ++i) {
        auto n = make_block(test::text_data(500, 4000 + i));
        REQUIRE(m->write_block(n.hash, n.data));
        CHECK(m->find_block(n.hash)->dir == 1);
    }
    CHECK(test::files_under(old) == before);
    CHECK(test::files_under(fresh).size() == 20);
}

TEMPLATE_LIST_TEST_CASE("a data directory whose marker is missing or different refuses to open",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    {
        auto m = open_manager(f, o);
    }
    auto const marker = o.data_dirs[0].path / "garage-marker";
    auto const content = test::read_file(marker);
    test::write_file(marker, "another disk");
    auto r = manager_t<TestType>::open(f.db, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::layout_mismatch);
    CHECK_THAT(r.error().message, Catch::Contains(o.data_dirs[0].path.string()));

    // The disk is not mounted: the directory is empty.
    fs::remove_all(o.data_dirs[0].path);
    fs::create_directories(o.data_dirs[0].path);
    auto r2 = manager_t<TestType>::open(f.db, o);
    REQUIRE_FALSE(r2);
    CHECK(r2.error().code == block::error::layout_mismatch);
    CHECK(test::files_under(o.data_dirs[0].path).empty()); // nothing was written there

    test::write_file(marker, content);
    CHECK(manager_t<TestType>::open(f.db, o));
}

TEMPLATE_LIST_TEST_CASE("scrub finds a corrupted block, sets it aside and queues its resync",
                        "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    auto m = open_manager(f, o);
    std::vector<test::test_block> blocks;
    for (std::uint32_t i = 0; i < 10; ++i) {
        blocks.push_back(make_block(test::text_data(5000, 5000 + i)));
        REQUIRE(m->write_block(blocks.back().hash, blocks.back().data));
    }
    auto bad = m->find_block(blocks[3].hash).value();
    fs::resize_file(bad.path, fs::file_size(bad.path) / 2);
    // A crash left a temporary file; reads ignore it.
    auto const tmp = bad.path.parent_path() / (blocks[5].hash.to_hex() + ".zst.tmp00c0ffee");
    test::write_file(tmp, "half a block");
    CHECK(m->read_block(blocks[5].hash).value() == blocks[5].data);

    block::scrub_cursor c;
    std::size_t checked = 0;
    std::size_t corrupt = 0;
    std::size_t tmps = 0;
    for (;;) {
        auto r = m->scrub_step(c).value();
        tmps += r.removed_temporaries;
        if (r.finished) {
            break;
        }
        ++checked;
        corrupt += r.corrupt ? 1 : 0;
    }
    CHECK(checked == 10);
    CHECK(corrupt == 1);
    CHECK(tmps == 1);
    CHECK_FALSE(fs::exists(tmp));
    CHECK(m->corruptions() == 1);
    CHECK_FALSE(m->has_block(blocks[3].hash));
    CHECK(fs::exists(bad.path.string() + ".corrupted"));
    CHECK(m->resync_queue_len().value() == 1);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (i != 3) {
            CHECK(m->read_block(blocks[i].hash).value() == blocks[i].data);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("block sizes are limited", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.block_size = 4096;
    auto m = open_manager(f, o);
    auto ok = make_block(test::random_data(4096, 1));
    auto big = make_block(test::random_data(4097, 2));
    CHECK(m->write_block(ok.hash, ok.data));
    auto r = m->write_block(big.hash, big.data);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::block_too_large);
    CHECK_FALSE(m->has_block(big.hash));

    // A block from another node may be larger than our block_size (it may have been
    // written under an older setting), up to the absolute limit.
    CHECK(m->write_raw_block(big.hash, block::data_block::encode(big.data, 1)));
    CHECK(m->read_block(big.hash).value() == big.data);
    // But never one that does not match its hash.
    auto w = m->write_raw_block(ok.hash, block::data_block::plain(big.data));
    REQUIRE_FALSE(w);
    CHECK(w.error().code == block::error::corrupt_block);

    for (std::uint64_t bad :
         {std::uint64_t(0), std::uint64_t(block::max_block_size) + 1, ~std::uint64_t(0)}) {
        auto bo = o;
        bo.block_size = bad;
        auto opened = manager_t<TestType>::open(f.db, bo);
        REQUIRE_FALSE(opened);
        CHECK(opened.error().code == block::error::invalid_options);
    }

    // A huge file in place of a block (a plain file beyond the absolute limit) is corrupt,
    // and is not read into memory.
    auto huge = make_block("huge");
    auto const folder = block::data_layout::block_dir(o.data_dirs[0].path, huge.hash);
    fs::create_directories(folder);
    {
        std::ofstream out(folder / huge.hash.to_hex(), std::ios::binary);
    }
    fs::resize_file(folder / huge.hash.to_hex(), block::max_block_size + 1);
    auto hr = m->read_block(huge.hash);
    REQUIRE_FALSE(hr);
    CHECK(hr.error().code == block::error::corrupt_block);
    CHECK(fs::exists(folder / (huge.hash.to_hex() + ".corrupted")));
}

TEMPLATE_LIST_TEST_CASE("reading a missing block reports not found and queues a check", "[block][manager]",
                        backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, test::single_dir_options(f.dir.path(), 1));
    auto b = make_block("never written");
    auto r = m->read_block(b.hash);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::block_not_found);
    CHECK(r.error().is(util::condition::not_found));
    CHECK(m->resync_queue_len().value() == 1);
    CHECK_FALSE(m->read_raw_block(b.hash));
}

TEST_CASE("reference counts and the resync queue survive a restart on LMDB", "[block][manager]")
{
    test::temp_dir dir;
    auto o = test::single_dir_options(dir.path(), 1);
    auto b = make_block(test::text_data(1000, 77));
    storage::lmdb_options lo;
    lo.path = dir.path() / "db.lmdb";
    lo.map_size = 1ull << 28;
    {
        auto db = std::move(storage::lmdb_backend::open(lo).value());
        auto m = std::move(manager_t<storage::lmdb_backend>::open(db, o).value());
        REQUIRE(m->write_block(b.hash, b.data));
        REQUIRE(db.transact([&](auto& tx) { return m->incref(tx, b.hash); }));
        REQUIRE(db.transact([&](auto& tx) { return m->incref(tx, b.hash); }));
    }
    auto db = std::move(storage::lmdb_backend::open(lo).value());
    auto m = std::move(manager_t<storage::lmdb_backend>::open(db, o).value());
    CHECK(m->get_rc(b.hash).value() == rc_value::present(2));
    CHECK(m->resync_queue_len().value() == 1);
    CHECK(m->read_block(b.hash).value() == b.data);
    // The queue key is u64_be(when) ‖ hash and the value the hash, as in Garage.
    auto q = db.open_tree("block_local_resync_queue").value();
    REQUIRE(db.for_each(q, std::nullopt, storage::direction::forward,
                        [&](std::string_view k, std::string_view v) {
                            CHECK(k.size() == 40);
                            CHECK(k.substr(8) == b.hash.view());
                            CHECK(v == b.hash.view());
                            return true;
                        }));
}

TEMPLATE_LIST_TEST_CASE("blocks are written with fsync when data_fsync is set", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    for (std::optional<int> level : {std::optional<int>(), std::optional<int>(1)}) {
        auto o = test::single_dir_options(f.dir.path() / (level ? "z" : "p"), level);
        o.data_fsync = true;
        o.gc_delay = std::chrono::milliseconds(0);
        auto m = open_manager(f, o);
        auto b = make_block(test::text_data(100000, 20));
        REQUIRE(m->write_block(b.hash, b.data));
        CHECK(m->read_block(b.hash).value() == b.data);
        CHECK(test::files_under(o.data_dirs[0].path, ".tmp").empty());
        REQUIRE(incref(f, *m, b.hash));
        REQUIRE(decref(f, *m, b.hash));
        drain_resync(*m);
        CHECK_FALSE(m->has_block(b.hash));
    }
}

TEMPLATE_LIST_TEST_CASE("concurrent writes and reads of the same blocks agree", "[block][manager]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, test::single_dir_options(f.dir.path(), 1));
    std::vector<test::test_block> blocks;
    for (std::uint32_t i = 0; i < 40; ++i) {
        blocks.push_back(make_block(test::text_data(20000, 300 + i)));
    }
    std::atomic<int> errors{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 gen(static_cast<std::uint32_t>(t));
            for (int i = 0; i < 300; ++i) {
                auto const& b = blocks[gen() % blocks.size()];
                if (gen() % 2 == 0) {
                    errors += m->write_block(b.hash, b.data) ? 0 : 1;
                } else if (auto r = m->read_block(b.hash)) {
                    wrong += *r == b.data ? 0 : 1;
                } else if (r.error().code != block::error::block_not_found) {
                    ++errors;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(errors == 0);
    CHECK(wrong == 0);
    CHECK(m->corruptions() == 0);
    CHECK(test::files_under(f.dir.path() / "data", ".tmp").empty());
}
} // namespace

namespace {

template <class Backend>
block::block_options small_options(test::block_fixture<Backend>& f, std::chrono::milliseconds gc_delay)
{
    auto o = test::single_dir_options(f.dir.path(), 1);
    o.small_block_max_size = 8192;
    o.gc_delay = gc_delay;
    return o;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("small blocks live in the metadata DB, larger ones in files",
                        "[block][manager][small]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, small_options(f, 10min));
    auto small = make_block(test::random_data(4096, 1));
    auto large = make_block(test::random_data(8193, 2));
    auto squeezed = make_block(std::string(100000, 'g') + "arage"); // compresses below 8 KiB
    for (auto const* b : {&small, &large, &squeezed}) {
        REQUIRE(m->write_block(b->hash, b->data));
    }
    CHECK(m->has_small(small.hash));
    CHECK(m->has_small(squeezed.hash));
    CHECK_FALSE(m->has_small(large.hash));
    CHECK(m->small_len().value() == 2);
    auto const files = test::files_under(f.dir.path() / "data");
    REQUIRE(files.size() == 1);
    CHECK(files[0] == m->find_block(large.hash).value().path);
    for (auto const* b : {&small, &large, &squeezed}) {
        CHECK(m->has_block(b->hash));
        CHECK(m->read_block(b->hash).value() == b->data);
        auto raw = m->read_raw_block(b->hash);
        REQUIRE(raw);
        CHECK(raw->verify(b->hash));
    }
    CHECK(m->read_raw_block(squeezed.hash).value().is_compressed());

    // A block received from a peer goes to the same place.
    auto peer = make_block(test::random_data(100, 4));
    REQUIRE(m->write_raw_block(peer.hash, block::data_block::plain(peer.data)));
    CHECK(m->has_small(peer.hash));
    CHECK_FALSE(m->write_raw_block(peer.hash, block::data_block::plain(peer.data + "x")));
}

TEMPLATE_LIST_TEST_CASE("with small_block_max_size 0 every block is a file", "[block][manager][small]",
                        backends)
{
    test::block_fixture<TestType> f;
    auto o = small_options(f, 10min);
    o.small_block_max_size = 0;
    auto m = open_manager(f, o);
    auto b = make_block(test::random_data(100, 5));
    REQUIRE(m->write_block(b.hash, b.data));
    CHECK_FALSE(m->has_small(b.hash));
    CHECK(test::files_under(f.dir.path() / "data").size() == 1);
    CHECK(m->read_block(b.hash).value() == b.data);
}

TEMPLATE_LIST_TEST_CASE("a small block is deleted after the GC delay once unreferenced",
                        "[block][manager][small]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, small_options(f, 0ms));
    auto b = make_block(test::random_data(3000, 6));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(incref(f, *m, b.hash));
    drain_resync(*m);
    CHECK(m->has_small(b.hash));
    REQUIRE(decref(f, *m, b.hash));
    CHECK(drain_resync(*m) == 1);
    CHECK_FALSE(m->has_block(b.hash));
    CHECK(m->small_len().value() == 0);
    CHECK(m->get_rc(b.hash).value() == rc_value::absent());
    CHECK(m->read_block(b.hash).error().code == make_error_code(block::error::block_not_found));
}

TEMPLATE_LIST_TEST_CASE("an unreferenced small block just written is kept for the GC delay",
                        "[block][manager][small]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, small_options(f, 10min));
    auto b = make_block(test::random_data(3000, 7));
    REQUIRE(m->write_block(b.hash, b.data));
    REQUIRE(m->put_to_resync(b.hash, 0ms));
    CHECK(drain_resync(*m) == 1);
    CHECK(m->has_small(b.hash));
    // looked at again when the delay has passed
    CHECK(m->resync_queue_len().value() >= 1);
}

TEMPLATE_LIST_TEST_CASE("a corrupted small block is detected, removed and queued for resync",
                        "[block][manager][small]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, small_options(f, 10min));
    auto b = make_block(test::random_data(4000, 8));
    REQUIRE(m->write_block(b.hash, b.data));
    auto tree = f.db.open_tree(manager_t<TestType>::small_tree_name).value();
    auto stored = f.db.get(tree, b.hash.view()).value().value();
    std::string bad(stored);
    bad.back() = static_cast<char>(~bad.back());
    REQUIRE(f.db.transact(
        [&](typename TestType::transaction_type& tx) { return tx.put(tree, b.hash.view(), bad); }));
    auto const queued = m->resync_queue_len().value();

    auto r = m->read_block(b.hash);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == make_error_code(block::error::corrupt_block));
    CHECK_FALSE(m->has_block(b.hash));
    CHECK(m->corruptions() == 1);
    CHECK(m->resync_queue_len().value() == queued + 1);
    // Written again (as a resync from a peer would), it reads back.
    REQUIRE(m->write_raw_block(b.hash, block::data_block::plain(b.data)));
    CHECK(m->read_block(b.hash).value() == b.data);

    // A malformed entry is refused the same way.
    REQUIRE(f.db.transact(
        [&](typename TestType::transaction_type& tx) { return tx.put(tree, b.hash.view(), "\x07"); }));
    CHECK(m->read_block(b.hash).error().code == make_error_code(block::error::corrupt_block));
}

TEMPLATE_LIST_TEST_CASE("write_small_in commits or aborts with the caller's transaction",
                        "[block][manager][small]", backends)
{
    test::block_fixture<TestType> f;
    auto m = open_manager(f, small_options(f, 10min));
    auto a = make_block(test::random_data(500, 9));
    auto b = make_block(test::random_data(600, 10));
    auto const blk_a = m->encode(a.data);
    auto const blk_b = m->encode(b.data);
    REQUIRE(m->is_small(blk_a));
    auto failed = f.db.transact([&](typename TestType::transaction_type& tx) -> util::result<void> {
        if (auto w = m->write_small_in(tx, a.hash, blk_a); !w) {
            return w;
        }
        return util::failure(util::error::io_error, "caller failed");
    });
    CHECK_FALSE(failed);
    CHECK_FALSE(m->has_block(a.hash));
    REQUIRE(f.db.transact([&](typename TestType::transaction_type& tx) -> util::result<void> {
        if (auto w = m->write_small_in(tx, b.hash, blk_b); !w) {
            return w;
        }
        return m->incref(tx, b.hash);
    }));
    CHECK(m->read_block(b.hash).value() == b.data);
    CHECK(m->get_rc(b.hash).value() == rc_value::present(1));
}
