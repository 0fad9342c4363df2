// Test that header file is self-contained.
#include <garage/block/repair.hpp>

#include <test/block/fixtures.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

namespace {
using namespace garage;
using namespace std::chrono_literals;
using manager_t = block::block_manager<storage::memory_backend>;

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

} // namespace
