// Test that header file is self-contained.
#include <garage/table/workers.hpp>

#include <garage/replication/local.hpp>

#include <test/support/table_fixtures.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

namespace {
using namespace garage;
using namespace std::chrono_literals;
using test::kv_entry;
using test::kv_schema;
using kv_table = table::table<kv_schema, replication::local, storage::lmdb_backend>;

/// Polls `pred` until it holds or `deadline` passes (the workers run on their own threads).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = 10s)
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

TEST_CASE("table workers apply the Merkle todo, flush the queue and collect tombstones", "[table][workers]")
{
    test::backend_fixture<storage::lmdb_backend> f;
    table::table_options o;
    o.gc_delay = 0ms;
    auto t = kv_table::open(kv_schema{}, replication::local{}, f.db, o).value();
    boost::asio::thread_pool pool(1);
    util::background_runner runner(pool.get_executor());
    table::spawn_workers(*t, runner, pool.get_executor(), 20ms);

    auto names = runner.list();
    REQUIRE(names.size() == 3);
    CHECK(names[0].name == "kv Merkle");
    CHECK(names[1].name == "kv queue");
    CHECK(names[2].name == "kv GC");

    for (int i = 0; i < 50; ++i) {
        REQUIRE(t->insert(kv_entry{"p", "k" + std::to_string(i), 1, "v", false}).has_value());
    }
    CHECK(eventually([&] { return t->merkle().todo_len().value() == 0; }));
    CHECK_FALSE(t->merkle().root_hash(0).value().is_zero());

    // A queued insert (as a hook of another table would do) reaches the table.
    REQUIRE(f.db.transact([&](auto& tx) {
                    return t->queue_insert(tx, kv_entry{"q", "x", 1, "queued", false});
                })
                .has_value());
    CHECK(eventually([&] {
        auto g = t->get("q", "x");
        return g && *g && (*g)->value == "queued";
    }));

    // Tombstones disappear once the GC delay (0 here) has passed; the Merkle tree follows.
    for (int i = 0; i < 50; ++i) {
        REQUIRE(t->insert(kv_entry{"p", "k" + std::to_string(i), 2, "", true}).has_value());
    }
    REQUIRE(t->insert(kv_entry{"q", "x", 2, "", true}).has_value());
    CHECK(eventually([&] { return t->len().value() == 0 && t->merkle().todo_len().value() == 0; }));
    CHECK(t->merkle().root_hash(0).value().is_zero());

    runner.request_stop();
    CHECK(runner.wait_stopped(5s));
    // Writes after the workers ended still succeed (the wake-up signal outlives them).
    CHECK(t->insert(kv_entry{"p", "late", 3, "v", false}).has_value());
    pool.join();
}
} // namespace
