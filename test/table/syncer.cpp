// Test that header file is self-contained.
#include <garage/table/syncer.hpp>

#include <test/table/cluster_fixture.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::eventually;
using test::kv;
using test::table_cluster;
namespace net = boost::asio;

TEST_CASE("Merkle sync converges after divergent local writes on every node", "[table][syncer]")
{
    table_cluster<storage::lmdb_backend> c(3, 4);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        for (std::size_t n = 0; n < 3; ++n) {
            for (int i = 0; i < 40; ++i) {
                // Keys of their own, and one shared key written differently everywhere.
                REQUIRE(c[n].local->insert(kv("p" + std::to_string(i % 7),
                                              "n" + std::to_string(n) + "-" + std::to_string(i), 1, "v")));
            }
            REQUIRE(c[n].local->insert(kv("shared", "x", n, "version " + std::to_string(n))));
        }
        for (std::size_t n = 0; n < 3; ++n) {
            auto r = co_await c[n].sync->sync_pass();
            REQUIRE(r);
            CHECK(r->complete());
            CHECK(r->partitions_synced == 4);
            CHECK(r->items_pushed > 0);
        }
        c.update_merkle();
        for (std::size_t n = 0; n < 3; ++n) {
            CHECK(c[n].local->len().value() == 3 * 40 + 1);
            for (replication::partition_id p = 0; p < 4; ++p) {
                CHECK(c[n].local->merkle().root_hash(p).value() == c[0].local->merkle().root_hash(p).value());
            }
        }
        CHECK(c.copies("shared", "x", "version 2") == 3);
        // Equal trees: a further pass pushes nothing.
        auto again = co_await c[1].sync->sync_pass();
        REQUIRE(again);
        CHECK(again->items_pushed == 0);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("a node that no longer stores a partition offloads it, then deletes its copy", "[table][syncer]")
{
    // Four nodes, two partitions: partition 0 on nodes 0, 1, 2; partition 1 on nodes 1, 2, 3.
    table_cluster<> c(4, 2);
    std::vector<std::uint64_t> reported;
    c[0].sync->on_pass_complete([&](table::sync_report const& r) {
        if (r.complete()) {
            reported.push_back(r.layout_version);
        }
    });
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        std::vector<test::kv_entry> batch;
        for (int i = 0; i < 300; ++i) {
            batch.push_back(kv("pk" + std::to_string(i), "s", 1, "v" + std::to_string(i)));
        }
        REQUIRE(co_await c[0].table->insert_many(batch));
        REQUIRE(co_await eventually([&] {
            return c[0].local->len().value() + c[3].local->len().value() ==
                   300; // each partition on one of them
        }));
        auto const held = c[0].local->len().value();
        REQUIRE(held > 0);
        // A new layout: node 0 leaves partition 0, node 3 takes its place.
        {
            std::lock_guard lock(c.layout->mutex);
            c.layout->partitions[0] = {c[1].id(), c[2].id(), c[3].id()};
            c.layout->version = 2;
        }
        auto r = co_await c[0].sync->sync_pass();
        REQUIRE(r);
        CHECK(r->complete());
        CHECK(r->partitions_offloaded == 2);
        CHECK(r->items_offloaded == held);
        CHECK(c[0].local->len().value() == 0);
        for (auto const& e : batch) {
            auto g = c[3].local->get(e.pk, e.sk);
            REQUIRE(g);
            REQUIRE(g->has_value());
            CHECK((*g)->value == e.value);
        }
        CHECK(c[3].local->len().value() == 300);
        CHECK(reported == std::vector<std::uint64_t>{2});
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("an offload that a storage node does not take keeps the local copy", "[table][syncer]")
{
    table_cluster<> c(4, 1);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        for (int i = 0; i < 10; ++i) {
            REQUIRE(c[0].local->insert(kv("p", "k" + std::to_string(i), 1, "v")));
        }
        {
            std::lock_guard lock(c.layout->mutex);
            c.layout->partitions[0] = {c[1].id(), c[2].id(), c[3].id()};
        }
        co_await c.isolate(3);
        auto r = co_await c[0].sync->sync_pass();
        REQUIRE(r);
        CHECK_FALSE(r->complete());
        CHECK(r->items_offloaded == 0);
        CHECK(c[0].local->len().value() == 10);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("the sync worker runs a pass at start and on demand", "[table][syncer]")
{
    table_cluster<> c(3);
    std::size_t passes = 0;
    c[0].sync->on_pass_complete([&](table::sync_report const&) { ++passes; });
    util::worker_timing timing;
    timing.idle_recheck = std::chrono::milliseconds(20);
    util::background_runner runner(c.rpc.io.get_executor(), timing);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        c[0].sync->spawn_worker(runner, c.rpc.io.get_executor());
        CHECK(runner.list().at(0).name == "kv sync");
        REQUIRE(co_await eventually([&] { return passes == 1; }));
        REQUIRE(c[0].local->insert(kv("p", "late", 1, "v")));
        c[0].sync->request_full_sync();
        REQUIRE(co_await eventually([&] { return passes == 2; }));
        CHECK(c.copies("p", "late", "v") == 3);
        runner.request_stop();
        CHECK(co_await eventually([&] { return runner.list().at(0).state == util::worker_state::done; }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

} // namespace
