// Test that header file is self-contained.
#include <garage/block/workers.hpp>

#include <test/block/fixtures.hpp>

#include <garage/util/persister.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

namespace {
using namespace garage;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using manager_t = block::block_manager<storage::memory_backend>;

/// Polls `pred` until it holds or `deadline` passes (the workers run on their own threads).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = 20s)
{
    auto const end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

/// A manager, a pool and a runner; the runner is stopped before the manager dies.
struct running {
    test::block_fixture<storage::memory_backend> f;
    block::block_options o;
    std::unique_ptr<manager_t> m;
    boost::asio::thread_pool pool{2};
    std::optional<util::background_runner> runner;
    std::shared_ptr<block::block_worker_control> control;

    explicit running(block::block_worker_options wo = {}, std::chrono::milliseconds gc_delay = 0ms)
    {
        o = test::single_dir_options(f.dir.path(), 1);
        o.gc_delay = gc_delay;
        m = std::move(manager_t::open(f.db, o).value());
        runner.emplace(pool.get_executor(), util::worker_timing{200ms, 200ms});
        wo.idle_wait = 200ms;
        control = block::spawn_workers(*m, *runner, pool.get_executor(), wo);
    }
    ~running()
    {
        runner->request_stop();
        runner->wait_stopped(5s);
        pool.join();
    }
};

TEST_CASE("block workers are named as Garage names them", "[block][workers]")
{
    running r;
    auto list = r.runner->list();
    REQUIRE(list.size() == block::max_resync_workers + 1);
    for (std::size_t i = 0; i < block::max_resync_workers; ++i) {
        CHECK(list[i].name == "Block resync worker #" + std::to_string(i + 1));
    }
    CHECK(list.back().name == "Block scrub worker");
    CHECK(r.control->resync_tranquility() == 2);
    CHECK(r.control->resync_worker_count() == 1);
    auto info = r.control->scrub_snapshot();
    CHECK(info.tranquility == 4);
    // The first pass is 25 to 35 days away.
    auto const now = util::now_msec();
    CHECK(info.time_next_run_scrub >= now + 25ull * 24 * 3600 * 1000 - 60000);
    CHECK(info.time_next_run_scrub <= now + 35ull * 24 * 3600 * 1000);
    CHECK(fs::exists(r.o.metadata_dir / "scrub_info"));

    running no_scrub(block::block_worker_options{.disable_scrub = true});
    CHECK(no_scrub.runner->list().size() == block::max_resync_workers);
}

TEST_CASE("the resync worker deletes a block once its last reference is dropped", "[block][workers]")
{
    running r;
    REQUIRE(r.control->set_resync_tranquility(0));
    auto b = test::make_block(test::text_data(10000, 1));
    REQUIRE(r.m->write_block(b.hash, b.data));
    REQUIRE(r.f.db.transact([&](auto& tx) { return r.m->incref(tx, b.hash); }));
    REQUIRE(r.f.db.transact([&](auto& tx) { return r.m->decref(tx, b.hash); }));
    CHECK(eventually([&] { return !r.m->has_block(b.hash); }));
    // The presence check queued by incref stays (for later); the deletion item is gone.
    CHECK(eventually([&] { return r.m->rc_len().value() == 0; }));
}

TEST_CASE("a scrub started by command finds a corruption and remembers it", "[block][workers]")
{
    running r;
    r.control->scrub_set_tranquility(0);
    std::vector<test::test_block> blocks;
    for (std::uint32_t i = 0; i < 5; ++i) {
        blocks.push_back(test::make_block(test::text_data(4000, 10 + i)));
        REQUIRE(r.m->write_block(blocks.back().hash, blocks.back().data));
    }
    auto bad = r.m->find_block(blocks[2].hash).value();
    test::flip_byte(bad.path, fs::file_size(bad.path) / 2);
    auto const before = util::now_msec();
    r.control->scrub_start();
    CHECK(eventually([&] {
        auto s = r.control->scrub_snapshot();
        return s.time_last_complete_scrub >= before &&
               r.control->scrub_current_state() == block::scrub_state::finished;
    }));
    auto s = r.control->scrub_snapshot();
    CHECK(s.corruptions_detected == 1);
    CHECK(s.tranquility == 0);
    CHECK_FALSE(s.checkpoint);
    CHECK(s.time_next_run_scrub >= s.time_last_complete_scrub + 25ull * 24 * 3600 * 1000);
    CHECK(r.m->corruptions() == 1);
    CHECK(fs::exists(bad.path.string() + ".corrupted"));

    // Persisted for the next start.
    auto saved = util::persister<block::scrub_info>(r.o.metadata_dir / "scrub_info").load().value();
    REQUIRE(saved);
    CHECK(saved->corruptions_detected == 1);
    CHECK(saved->tranquility == 0);
}

TEST_CASE("a paused scrub keeps its checkpoint and can be cancelled", "[block][workers]")
{
    running r;
    for (std::uint32_t i = 0; i < 100; ++i) {
        auto b = test::make_block(test::text_data(2000, 100 + i));
        REQUIRE(r.m->write_block(b.hash, b.data));
    }
    r.control->scrub_set_tranquility(1000); // a pass of seconds: caught running
    r.control->scrub_start();
    CHECK(eventually([&] { return r.control->scrub_current_state() == block::scrub_state::running; }));
    r.control->scrub_pause(1h);
    CHECK(eventually([&] { return r.control->scrub_current_state() == block::scrub_state::paused; }));
    auto saved = util::persister<block::scrub_info>(r.o.metadata_dir / "scrub_info").load().value();
    REQUIRE(saved);
    CHECK(saved->checkpoint.has_value());
    r.control->scrub_cancel();
    CHECK(eventually([&] { return r.control->scrub_current_state() == block::scrub_state::finished; }));
    CHECK_FALSE(r.control->scrub_snapshot().checkpoint);
    CHECK(r.control->scrub_snapshot().time_last_complete_scrub == 0);
}

TEST_CASE("resync settings are checked and persisted", "[block][workers]")
{
    test::temp_dir dir;
    boost::asio::thread_pool pool(1);
    {
        block::block_worker_control c(dir.path(), pool.get_executor());
        CHECK(c.set_resync_worker_count(0).error().code == block::error::invalid_options);
        CHECK(c.set_resync_worker_count(9).error().code == block::error::invalid_options);
        REQUIRE(c.set_resync_worker_count(3));
        REQUIRE(c.set_resync_tranquility(7));
    }
    block::block_worker_control again(dir.path(), pool.get_executor());
    CHECK(again.resync_worker_count() == 3);
    CHECK(again.resync_tranquility() == 7);
    pool.join();
}

TEST_CASE("next scrub times fall 25 to 35 days ahead", "[block][workers]")
{
    std::uint64_t const day = 24ull * 3600 * 1000;
    std::uint64_t lo = ~0ull;
    std::uint64_t hi = 0;
    for (int i = 0; i < 200; ++i) {
        auto t = block::next_scrub_time(1000);
        CHECK(t >= 1000 + 25 * day);
        CHECK(t < 1000 + 35 * day);
        lo = std::min(lo, t);
        hi = std::max(hi, t);
    }
    CHECK(hi - lo > day); // random, not fixed
}
} // namespace
