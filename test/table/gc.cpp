// Test that header file is self-contained.
#include <garage/table/gc.hpp>

#include <test/table/cluster_fixture.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::eventually;
using test::kv;
using test::table_cluster;
namespace net = boost::asio;

table::table_options no_delay()
{
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    return o;
}

TEST_CASE("two-phase GC deletes a tombstone on every storage node", "[table][gc]")
{
    table_cluster<storage::lmdb_backend> c(3, 1, 3, no_delay());
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 1, "live")));
        REQUIRE(co_await c[1].table->insert(kv("p", "a", 2, "", true)));
        REQUIRE(co_await eventually([&] { return c.copies("p", "a", "") == 3; }));
        // Only the first storage node of the partition (node 0) schedules the collection.
        CHECK(c[0].local->gc_todo_len().value() == 1);
        CHECK(c[1].local->gc_todo_len().value() == 0);
        auto n = co_await c[0].gc->gc_step();
        REQUIRE(n);
        CHECK(*n == 1);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(c[i].local->len().value() == 0);
        }
        CHECK(c[0].local->gc_todo_len().value() == 0);
        CHECK(c[0].gc->stats().collected == 1);
        c.update_merkle();
        CHECK(c[2].local->merkle().root_hash(0).value().is_zero());
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("GC does not delete an entry rewritten meanwhile", "[table][gc]")
{
    table_cluster<> c(3, 1, 3, no_delay());
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 2, "", true)));
        REQUIRE(co_await eventually([&] { return c.copies("p", "a", "") == 3; }));
        // A newer live version reaches node 1 only, before the collection.
        REQUIRE(c[1].local->insert(kv("p", "a", 3, "alive again")));
        auto n = co_await c[0].gc->gc_step();
        REQUIRE(n);
        auto kept = c[1].local->get("p", "a").value();
        REQUIRE(kept.has_value());
        CHECK(kept->value == "alive again");
        CHECK(c[0].local->len().value() == 0);
        CHECK(c[2].local->len().value() == 0);
        CHECK(c[0].local->gc_todo_len().value() == 0);
        // Sync brings the live version back everywhere.
        auto r = co_await c[1].sync->sync_pass();
        REQUIRE(r);
        CHECK(c.copies("p", "a", "alive again") == 3);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("GC with a storage node down keeps the tombstone and retries later", "[table][gc]")
{
    table_cluster<> c(3, 1, 3, no_delay());
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 2, "", true)));
        REQUIRE(co_await eventually([&] { return c.copies("p", "a", "") == 3; }));
        co_await c.isolate(2);
        auto failed = co_await c[0].gc->gc_step();
        REQUIRE_FALSE(failed);
        CHECK(failed.error().code == table::error::partial_failure);
        CHECK(c[0].local->gc_todo_len().value() == 1);
        CHECK(c.copies("p", "a", "") == 3); // nothing deleted anywhere
        co_await c.rejoin(2);
        auto n = co_await c[0].gc->gc_step();
        REQUIRE(n);
        CHECK(*n == 1);
        CHECK(c.copies("p", "a", "") == 0);
        CHECK(c[0].local->gc_todo_len().value() == 0);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("a GC todo whose entry changed is dropped", "[table][gc]")
{
    table_cluster<> c(3, 1, 3, no_delay());
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 2, "", true)));
        REQUIRE(c[0].local->insert(kv("p", "a", 3, "back")));
        auto n = co_await c[0].gc->gc_step();
        REQUIRE(n);
        CHECK(*n == 1);
        CHECK(c[0].gc->stats().dropped == 1);
        CHECK(c[0].local->gc_todo_len().value() == 0);
        CHECK(c[0].local->get("p", "a").value()->value == "back");
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

} // namespace
