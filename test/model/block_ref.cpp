// Test that header file is self-contained.
#include <garage/model/block_ref.hpp>

#include <garage/replication/local.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/table/table.hpp>

#include <test/model/fakes.hpp>
#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>
#include <test/support/rc_sink.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::block_ref;
using test::merged;
using test::pool_hash;
using test::pool_uuid;

static_assert(crdt::crdt<block_ref>);

TEST_CASE("a deleted block reference stays deleted", "[model][block_ref]")
{
    auto const live = block_ref::live(pool_hash(0), pool_uuid(0));
    auto const dead = block_ref::tombstone(pool_hash(0), pool_uuid(0));
    CHECK_FALSE(live.is_tombstone());
    CHECK(merged(live, dead).is_tombstone());
    CHECK(merged(dead, live).is_tombstone());
    CHECK(live.partition_key() == pool_hash(0));
    CHECK(live.sort_key() == pool_uuid(0));
    CHECK(test::cereal_round_trip(dead) == dead);
    test::crdt_rng rng(404);
    test::check_merge_laws<block_ref>(rng);
}

TEST_CASE("the block_ref hook increfs new live references and decrefs dying ones", "[model][block_ref]")
{
    test::recording_rc_sink sink;
    model::block_ref_schema<storage::memory_backend, test::recording_rc_sink> schema(sink);
    storage::memory_backend db;
    auto const live = block_ref::live(pool_hash(1), pool_uuid(0));
    auto const dead = block_ref::tombstone(pool_hash(1), pool_uuid(0));
    REQUIRE(db.transact([&](auto& tx) -> util::result<void> {
        REQUIRE(schema.updated(tx, nullptr, &live)); // new live: incref
        REQUIRE(schema.updated(tx, &live, &live));   // unchanged: nothing
        REQUIRE(schema.updated(tx, &live, &dead));   // dies: decref
        REQUIRE(schema.updated(tx, &dead, nullptr)); // tombstone collected: nothing
        REQUIRE(schema.updated(tx, nullptr, &dead)); // arrives deleted: nothing
        REQUIRE(schema.updated(tx, &live, nullptr)); // removed while live: decref
        return {};
    }));
    CHECK(sink.increfs == std::vector<util::hash32>{pool_hash(1)});
    CHECK(sink.decrefs == std::vector<util::hash32>{pool_hash(1), pool_hash(1)});
    CHECK(model::block_ref_schema<storage::memory_backend, test::recording_rc_sink>::matches_filter(
        dead, model::deleted_filter::deleted));
}

using sink_type = test::tree_rc_sink<storage::memory_backend>;
using block_ref_table = table::table<model::block_ref_schema<storage::memory_backend, sink_type>,
                                     replication::local, storage::memory_backend>;

TEST_CASE("block reference counts follow the table whatever the order of the writes", "[model][block_ref]")
{
    storage::memory_backend db;
    sink_type sink(db);
    auto t = block_ref_table::open(model::block_ref_schema<storage::memory_backend, sink_type>(sink),
                                   replication::local{}, db)
                 .value();
    auto const h = pool_hash(2);
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(0))));
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(0)))); // a repeated write changes nothing
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(1)))); // a second version uses the block
    CHECK(sink.count(h) == 2);
    CHECK(sink.increfs() == 2);

    REQUIRE(t->insert(block_ref::tombstone(h, pool_uuid(0))));
    CHECK(sink.count(h) == 1);
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(0)))); // too late: deleted for ever
    CHECK(sink.count(h) == 1);

    // A deletion that arrives before the reference itself never counts it.
    REQUIRE(t->insert(block_ref::tombstone(h, pool_uuid(2))));
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(2))));
    CHECK(sink.count(h) == 1);
    CHECK(sink.increfs() == 2);
    CHECK(sink.decrefs() == 1);
}

TEST_CASE("a failing sink aborts the block_ref write", "[model][block_ref]")
{
    storage::memory_backend db;
    sink_type sink(db);
    auto t = block_ref_table::open(model::block_ref_schema<storage::memory_backend, sink_type>(sink),
                                   replication::local{}, db)
                 .value();
    auto const h = pool_hash(3);
    REQUIRE(t->insert(block_ref::live(h, pool_uuid(0))));
    sink.fail_decref(true);
    auto const r = t->insert(block_ref::tombstone(h, pool_uuid(0)));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::error::io_error);
    auto const stored = t->get(h, pool_uuid(0)).value();
    REQUIRE(stored);
    CHECK_FALSE(stored->is_tombstone());
    CHECK(sink.count(h) == 1);
    sink.fail_decref(false);
    REQUIRE(t->insert(block_ref::tombstone(h, pool_uuid(0))));
    CHECK(sink.count(h) == 0);
}
} // namespace
