// Test that header file is self-contained.
#include <garage/block/repair.hpp>

#include <test/block/fixtures.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

namespace {
using namespace garage;
using namespace std::chrono_literals;
using manager_t = block::block_manager<storage::memory_backend>;
namespace fs = std::filesystem;

/// Polls `pred` until it holds or 20 s pass (the worker runs on its own thread).
template <class Pred>
bool eventually(Pred pred)
{
    auto const end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

/// The hashes in the resync queue.
std::set<util::hash32> queued(manager_t& m)
{
    std::set<util::hash32> out;
    auto tree = m.storage().open_tree(manager_t::resync_queue_tree_name).value();
    auto r = m.storage().for_each(tree, std::nullopt, storage::direction::forward,
                                  [&](std::string_view, std::string_view v) {
                                      out.insert(util::hash32::from_bytes(v).value());
                                      return true;
                                  });
    REQUIRE(r);
    return out;
}

struct repair_fixture {
    test::block_fixture<storage::memory_backend> f;
    std::unique_ptr<manager_t> m;
    std::vector<test::test_block> referenced, stored_only, small;
    boost::asio::thread_pool pool{1};
    std::optional<util::background_runner> runner;

    repair_fixture()
    {
        auto o = test::single_dir_options(f.dir.path(), std::nullopt);
        o.small_block_max_size = 100;
        o.missing_block_delay = 3600s; // incref's own check is far in the future
        m = std::move(manager_t::open(f.db, o).value());
        for (int i = 0; i < 5; ++i) {
            referenced.push_back(test::make_block(test::random_data(1000, 10 + i)));
            REQUIRE(f.db.transact([&](auto& tx) { return m->incref(tx, referenced.back().hash); }));
        }
        for (int i = 0; i < 300; ++i) { // more than one batch of files
            stored_only.push_back(test::make_block(test::random_data(200, 100 + i)));
            REQUIRE(m->write_block(stored_only.back().hash, stored_only.back().data));
        }
        for (int i = 0; i < 3; ++i) {
            small.push_back(test::make_block(test::random_data(50, 1000 + i)));
            REQUIRE(m->write_block(small.back().hash, small.back().data));
        }
        REQUIRE(*m->small_len() == 3);
        // Start from an empty queue.
        auto tree = f.db.open_tree(manager_t::resync_queue_tree_name).value();
        REQUIRE(f.db.transact([&](auto& tx) -> util::result<void> {
            std::vector<std::string> keys;
            auto r = tx.for_each(tree, std::nullopt, storage::direction::forward,
                                 [&](std::string_view k, std::string_view) {
                                     keys.emplace_back(k);
                                     return true;
                                 });
            if (!r) {
                return r;
            }
            for (auto const& k : keys) {
                if (auto d = tx.remove(tree, k); !d) {
                    return d.error();
                }
            }
            return {};
        }));
        runner.emplace(pool.get_executor(), util::worker_timing{100ms, 100ms});
    }
    ~repair_fixture()
    {
        runner->request_stop();
        runner->wait_stopped(5s);
        pool.join();
    }

    bool finished(std::size_t id) const
    {
        for (auto const& w : runner->list()) {
            if (w.id == id) {
                return w.state == util::worker_state::done;
            }
        }
        return false;
    }
};

TEST_CASE("repair blocks queues every referenced and every stored block for a resync check",
          "[block][repair]")
{
    repair_fixture rf;
    block::block_repair_options o;
    o.batch = 64;
    auto id = block::spawn_block_repair(*rf.m, *rf.runner, o);
    REQUIRE(eventually([&] { return rf.finished(id); }));
    auto q = queued(*rf.m);
    for (auto const* set : {&rf.referenced, &rf.stored_only, &rf.small}) {
        for (auto const& b : *set) {
            CHECK(q.count(b.hash) == 1);
        }
    }
    CHECK(q.size() == rf.referenced.size() + rf.stored_only.size() + rf.small.size());
}

TEST_CASE("The rebalance pass queues only the blocks stored here", "[block][repair]")
{
    repair_fixture rf;
    block::block_repair_options o;
    o.referenced = false;
    o.batch = 64;
    auto id = block::spawn_block_repair(*rf.m, *rf.runner, o);
    REQUIRE(eventually([&] { return rf.finished(id); }));
    auto q = queued(*rf.m);
    CHECK(q.size() == rf.stored_only.size() + rf.small.size());
    for (auto const& b : rf.referenced) {
        CHECK(q.count(b.hash) == 0); // referenced but never written here
    }
}

/// The status line of a worker that starts with `prefix`, or "".
std::string status_line(util::background_runner const& runner, std::size_t id, std::string const& prefix)
{
    for (auto const& w : runner.list()) {
        if (w.id == id) {
            for (auto const& l : w.status.freeform) {
                if (l.starts_with(prefix)) {
                    return l;
                }
            }
        }
    }
    return "";
}

bool worker_done(util::background_runner const& runner, std::size_t id)
{
    for (auto const& w : runner.list()) {
        if (w.id == id) {
            return w.state == util::worker_state::done;
        }
    }
    return false;
}

TEST_CASE("recalculate_rc fixes a wrong count from the recount, keeping the GC delay", "[block][repair]")
{
    test::block_fixture<storage::memory_backend> f;
    auto o = test::single_dir_options(f.dir.path(), std::nullopt);
    o.gc_delay = 600s;
    auto m = std::move(manager_t::open(f.db, o).value());
    auto const h1 = test::make_block(test::random_data(100, 1)).hash;
    auto const h2 = test::make_block(test::random_data(100, 2)).hash;
    auto const h3 = test::make_block(test::random_data(100, 3)).hash;
    auto const h4 = test::make_block(test::random_data(100, 4)).hash;
    // Without a recount function there is nothing to recount from.
    auto none = m->recalculate_rc(h1);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == block::error::invalid_options);

    std::map<util::hash32, std::uint64_t> refs{{h1, 1}, {h2, 0}, {h3, 2}, {h4, 2}};
    m->set_rc_recount(
        [&](manager_t::transaction_type&, util::hash32 const& h) -> util::result<std::uint64_t> {
            return refs.count(h) ? refs.at(h) : 0;
        });
    auto incref = [&](util::hash32 const& h, int n) {
        for (int i = 0; i < n; ++i) {
            REQUIRE(f.db.transact([&](auto& tx) { return m->incref(tx, h); }));
        }
    };
    incref(h1, 3); // too many
    incref(h2, 1); // no reference left
    incref(h4, 2); // right
    auto const before = util::now_msec();
    CHECK(m->recalculate_rc(h1).value());
    CHECK(m->recalculate_rc(h2).value());
    CHECK(m->recalculate_rc(h3).value()); // absent, yet referenced
    CHECK_FALSE(m->recalculate_rc(h4).value());
    CHECK(m->get_rc(h1).value() == block::rc_value::present(1));
    CHECK(m->get_rc(h3).value() == block::rc_value::present(2));
    CHECK(m->get_rc(h4).value() == block::rc_value::present(2));
    auto const r2 = m->get_rc(h2).value();
    REQUIRE(r2.get_state() == block::rc_value::state::deletable);
    CHECK(*r2.deletable_at() >= before + 600'000); // not deleted at once: the usual delay
    CHECK(queued(*m).count(h2) == 1);
    // A second pass has nothing to fix.
    for (auto const& h : {h1, h2, h3, h4}) {
        CHECK_FALSE(m->recalculate_rc(h).value());
    }
}

TEST_CASE("the block refcount repair worker walks the rc tree and the referenced blocks together",
          "[block][repair]")
{
    test::block_fixture<storage::memory_backend> f;
    auto m = std::move(manager_t::open(f.db, test::single_dir_options(f.dir.path(), std::nullopt)).value());
    // 20 blocks: the even ones have a (wrong: 5) count, every third one is referenced twice.
    std::map<util::hash32, std::uint64_t> refs;
    std::vector<util::hash32> referenced;
    std::set<util::hash32> counted;
    for (int i = 0; i < 20; ++i) {
        auto const h = test::make_block(test::random_data(10, 50 + i)).hash;
        if (i % 2 == 0) {
            counted.insert(h);
            for (int j = 0; j < 5; ++j) {
                REQUIRE(f.db.transact([&](auto& tx) { return m->incref(tx, h); }));
            }
        }
        if (i % 3 == 0) {
            refs[h] = 5; // referenced and counted right when also even
            referenced.push_back(h);
        }
    }
    std::sort(referenced.begin(), referenced.end());
    m->set_rc_recount(
        [&](manager_t::transaction_type&, util::hash32 const& h) -> util::result<std::uint64_t> {
            return refs.count(h) ? refs.at(h) : 0;
        });
    block::block_rc_repair_options o;
    o.batch = 3; // cut both lists several times
    o.referenced = [&](std::optional<util::hash32> const& after, std::size_t max) {
        std::vector<util::hash32> out;
        for (auto const& h : referenced) {
            if ((!after || *after < h) && out.size() < max) {
                out.push_back(h);
            }
        }
        return util::result<std::vector<util::hash32>>(out);
    };
    boost::asio::thread_pool pool{1};
    util::background_runner runner(pool.get_executor(), util::worker_timing{100ms, 100ms});
    auto id = block::spawn_block_rc_repair(*m, runner, o);
    REQUIRE(eventually([&] { return worker_done(runner, id); }));
    // Fixed: the counted blocks that are not referenced (10 even, 4 of them multiples of 3),
    // and the referenced ones that have no count (7 multiples of 3, 4 of them even).
    std::size_t expect_fixed = 0;
    for (auto const& h : counted) {
        expect_fixed += refs.count(h) ? 0 : 1;
    }
    for (auto const& h : referenced) {
        expect_fixed += counted.count(h) ? 0 : 1;
    }
    CHECK(expect_fixed == 10 - 4 + 7 - 4);
    CHECK(status_line(runner, id, "Reference counts fixed: ") ==
          "Reference counts fixed: " + std::to_string(expect_fixed));
    CHECK(status_line(runner, id, "Blocks checked: ") == "Blocks checked: " + std::to_string(10 + 7 - 4));
    for (auto const& h : counted) {
        auto rc = m->get_rc(h).value();
        if (refs.count(h)) {
            CHECK(rc == block::rc_value::present(5));
        } else {
            CHECK(rc.get_state() == block::rc_value::state::deletable);
        }
    }
    for (auto const& h : referenced) {
        CHECK(m->get_rc(h).value() == block::rc_value::present(5));
    }
    runner.request_stop();
    runner.wait_stopped(5s);
    pool.join();
}

TEST_CASE("the rebalance worker moves block files to their primary directory, then drops the "
          "secondary locations",
          "[block][repair]")
{
    test::block_fixture<storage::memory_backend> f;
    auto const a = f.dir.path() / "a";
    auto const bdir = f.dir.path() / "b";
    block::block_options o;
    o.metadata_dir = f.dir.path() / "meta";
    o.data_dirs = {test::dir_with_capacity(a, 100)};
    std::vector<test::test_block> blocks;
    {
        auto m = std::move(manager_t::open(f.db, o).value());
        for (std::uint32_t i = 0; i < 100; ++i) {
            blocks.push_back(test::make_block(test::random_data(300, 2000 + i)));
            REQUIRE(m->write_block(blocks.back().hash, blocks.back().data));
        }
    }
    // A new, larger disk: most slices move to it; `a` stays their secondary location.
    o.data_dirs = {test::dir_with_capacity(a, 100), test::dir_with_capacity(bdir, 300)};
    auto m = std::move(manager_t::open(f.db, o).value());
    std::vector<test::test_block> misplaced, placed;
    for (auto const& b : blocks) {
        (m->find_block(b.hash)->primary ? placed : misplaced).push_back(b);
    }
    REQUIRE(misplaced.size() > 50);
    REQUIRE(placed.size() > 5);
    std::size_t secondaries = 0;
    for (std::size_t p = 0; p < block::drive_npart; ++p) {
        secondaries += m->layout()->secondaries(p).size();
    }
    REQUIRE(secondaries > 0);
    // One misplaced block also has a copy in its primary directory; another one is corrupt.
    auto const dup = misplaced[0];
    auto const dup_loc = *m->find_block(dup.hash);
    auto const dup_primary = m->layout()->primary_block_dir(dup.hash);
    fs::create_directories(dup_primary);
    fs::copy_file(dup_loc.path, dup_primary / dup_loc.path.filename());
    auto const bad = misplaced[1];
    auto const bad_loc = *m->find_block(bad.hash);
    test::flip_byte(bad_loc.path, 10);
    auto const placed_path = m->find_block(placed[0].hash)->path;

    boost::asio::thread_pool pool{1};
    util::background_runner runner(pool.get_executor(), util::worker_timing{100ms, 100ms});
    auto id = block::spawn_block_rebalance(*m, runner, block::block_rebalance_options{16});
    REQUIRE(eventually([&] { return worker_done(runner, id); }));

    CHECK(status_line(runner, id, "Blocks moved: ") ==
          "Blocks moved: " + std::to_string(misplaced.size() - 2));
    CHECK(status_line(runner, id, "Redundant secondary copies removed: ") ==
          "Redundant secondary copies removed: 1");
    for (auto const& b : blocks) {
        if (b.hash == bad.hash) {
            continue;
        }
        auto all = m->store().find_all(b.hash);
        REQUIRE(all.size() == 1);
        CHECK(all[0].primary);
        CHECK(m->read_block(b.hash).value() == b.data);
    }
    CHECK(m->find_block(placed[0].hash)->path == placed_path); // left where it was
    // The corrupt copy is set aside, not moved, and its block queued to be fetched again.
    CHECK_FALSE(m->has_block(bad.hash));
    auto corrupted = bad_loc.path;
    corrupted += ".corrupted";
    CHECK(fs::exists(corrupted));
    CHECK(queued(*m).count(bad.hash) == 1);
    CHECK(test::files_under(a).size() == placed.size() + 1); // and the `.corrupted` file
    CHECK(test::files_under(bdir).size() == misplaced.size() - 1);
    // No secondary location is left, in memory or in the saved layout.
    for (std::size_t p = 0; p < block::drive_npart; ++p) {
        CHECK(m->layout()->secondaries(p).empty());
    }
    runner.request_stop();
    runner.wait_stopped(5s);
    pool.join();
    m.reset();
    auto reopened = std::move(manager_t::open(f.db, o).value());
    std::size_t left = 0;
    for (std::size_t p = 0; p < block::drive_npart; ++p) {
        left += reopened->layout()->secondaries(p).size();
    }
    CHECK(left == 0);
    CHECK(reopened->read_block(blocks[5].hash).value() == blocks[5].data);
}

} // namespace
