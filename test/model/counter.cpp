// Test that header file is self-contained.
#include <garage/model/counter.hpp>

#include <garage/model/error.hpp>
#include <garage/model/object.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/memory_backend.hpp>

#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

#include <array>

namespace {
using namespace garage;
using model::bucket_object_counter;
using model::node_count;
using test::merged;
using test::pool_hash;
using test::pool_uuid;
using entry = model::counter_entry<bucket_object_counter>;

static_assert(crdt::crdt<node_count>);
static_assert(crdt::crdt<entry>);

util::node_id node(std::uint8_t b)
{
    util::node_id n;
    n[0] = b;
    return n;
}

entry one(util::node_id n, std::string name, std::uint64_t ts, std::int64_t v)
{
    entry e;
    e.pk = pool_uuid(9);
    e.values.put(std::move(name), entry::node_values::put_mutator(n, node_count{ts, v}));
    return e;
}

TEST_CASE("each node's counter keeps its latest value", "[model][counter]")
{
    CHECK(merged(node_count{1, 5}, node_count{2, 3}) == node_count{2, 3});
    CHECK(merged(node_count{2, 3}, node_count{1, 5}) == node_count{2, 3});
    CHECK(merged(node_count{2, 3}, node_count{2, 4}) == node_count{2, 4});
    auto const e = merged(merged(one(node(1), "objects", 5, 10), one(node(1), "objects", 6, 7)),
                          one(node(2), "objects", 1, 9));
    CHECK(e.get("objects") == std::optional<std::int64_t>(9)); // max over nodes: 7 and 9
    CHECK(e.get("objects", std::array{node(1)}) == std::optional<std::int64_t>(7));
    CHECK(e.get("objects", std::array{node(3)}) == std::nullopt);
    CHECK(e.get("bytes") == std::nullopt);
    CHECK_FALSE(e.is_tombstone());
    CHECK(one(node(1), "objects", 1, 0).is_tombstone());
    CHECK(entry{}.is_tombstone());
}

TEST_CASE("counter entries are CRDTs and survive cereal", "[model][counter]")
{
    test::crdt_rng rng(808);
    test::check_merge_laws<node_count>(rng);
    test::check_merge_laws<entry>(rng);
    test::check_round_trips<entry>(rng);
}

using counter_type = model::index_counter<bucket_object_counter, replication::local, storage::memory_backend>;

model::object object_of_size(std::uint64_t i, std::uint64_t size)
{
    model::object_version v{
        pool_uuid(i), 10 * (i + 1),
        model::version_complete{model::first_block{
            model::object_version_meta{size, "e", model::encryption_plaintext{}}, pool_hash(i)}}};
    return model::object(pool_uuid(9), "key" + std::to_string(i), {v});
}

TEST_CASE("the index counter adds differences in the write's transaction", "[model][counter]")
{
    storage::memory_backend db;
    auto c = counter_type::open(replication::local(node(4)), db).value();
    CHECK(counter_type::local_tree_name() == "local_counter_v2:bucket_object_counter");
    auto const a = object_of_size(1, 100);
    auto const b = object_of_size(2, 50);
    auto const b2 = merged(b, object_of_size(2, 70)); // same version, larger data wins
    REQUIRE(b2.versions()[0].meta()->size == 70);

    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, nullptr, &a); }));
    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, nullptr, &b); }));
    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, &b, &b2); }));

    // Local counts are exact at once; the replicated table follows when its queue is flushed.
    auto const local = c->get_local(pool_uuid(9), model::no_key).value();
    REQUIRE(local);
    CHECK(local->get("objects") == std::optional<std::int64_t>(2));
    CHECK(local->get("bytes") == std::optional<std::int64_t>(170));
    CHECK(local->get("unfinished_uploads") == std::optional<std::int64_t>(0));
    CHECK_FALSE(c->get(pool_uuid(9), model::no_key).value());
    REQUIRE(c->counter_table().flush_insert_queue());
    auto const global = c->get(pool_uuid(9), model::no_key).value();
    REQUIRE(global);
    CHECK(global->get("objects") == std::optional<std::int64_t>(2));
    CHECK(global->get("bytes", std::array{node(4)}) == std::optional<std::int64_t>(170));

    // Another node's counts merge in; reads take the maximum.
    REQUIRE(c->counter_table().insert(one(node(5), "objects", util::now_msec(), 3)));
    CHECK(c->get(pool_uuid(9), model::no_key).value()->get("objects") == std::optional<std::int64_t>(3));
    CHECK(c->get(pool_uuid(9), model::no_key).value()->get("objects", std::array{node(4)}) ==
          std::optional<std::int64_t>(2));

    // Removing everything brings the local counts back to zero.
    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, &a, nullptr); }));
    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, &b2, nullptr); }));
    auto const zero = c->get_local(pool_uuid(9), model::no_key).value();
    CHECK(zero->is_tombstone());
}

TEST_CASE("a change that moves no count writes nothing", "[model][counter]")
{
    storage::memory_backend db;
    auto c = counter_type::open(replication::local(node(4)), db).value();
    auto const a = object_of_size(1, 100);
    REQUIRE(db.transact([&](auto& tx) { return c->count(tx, &a, &a); }));
    CHECK_FALSE(c->get_local(pool_uuid(9), model::no_key).value());
    CHECK(c->counter_table().insert_queue_len().value() == 0);
}

TEST_CASE("an undecodable local counter is reported and aborts the write", "[model][counter]")
{
    storage::memory_backend db;
    auto c = counter_type::open(replication::local(node(4)), db).value();
    auto tree = db.open_tree(counter_type::local_tree_name()).value();
    auto const key = counter_type::table_type::tree_key(pool_uuid(9), model::no_key);
    REQUIRE(db.transact([&](auto& tx) { return tx.put(tree, key, "garbage"); }));
    auto const a = object_of_size(1, 100);
    auto const r = db.transact([&](auto& tx) { return c->count(tx, nullptr, &a); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == model::error::corrupt_counter);
    CHECK(r.error().is(util::condition::corrupt_data));
    CHECK(c->counter_table().insert_queue_len().value() == 0);
}
} // namespace
