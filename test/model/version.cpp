// Test that header file is self-contained.
#include <garage/model/version.hpp>

#include <test/model/fakes.hpp>
#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::version;
using test::merged;
using test::pool_hash;
using test::pool_uuid;

static_assert(crdt::crdt<version>);
static_assert(crdt::crdt<model::version_block>);
static_assert(crdt::crdt<model::version_backlink>);

version with_blocks(util::uuid const& id,
                    std::initializer_list<std::pair<model::version_block_key, int>> blocks)
{
    auto v = version::create(id, model::object_backlink{pool_uuid(7), "key"});
    for (auto const& [k, h] : blocks) {
        v.blocks.put(k, model::version_block{pool_hash(static_cast<std::uint64_t>(h)), 1024});
    }
    return v;
}

TEST_CASE("version blocks are united until the version is deleted", "[model][version]")
{
    auto const a = with_blocks(pool_uuid(0), {{{1, 0}, 0}, {{1, 1024}, 1}});
    auto const b = with_blocks(pool_uuid(0), {{{2, 0}, 2}});
    auto const ab = merged(a, b);
    CHECK(ab.blocks.size() == 3);
    CHECK(ab == merged(b, a));
    CHECK(ab.has_part_number(1));
    CHECK(ab.has_part_number(2));
    CHECK_FALSE(ab.has_part_number(3));
    CHECK(ab.n_parts() == std::optional<std::uint64_t>(2));
    CHECK_FALSE(version::create(pool_uuid(0), model::mpu_backlink{}).n_parts());

    auto const dead = version::tombstone(pool_uuid(0), a.backlink);
    auto const gone = merged(ab, dead);
    CHECK(gone.is_tombstone());
    CHECK(gone.blocks.empty());
    CHECK(merged(dead, ab) == gone);
    CHECK(merged(gone, b) == gone); // blocks arriving late are dropped too
}

TEST_CASE("version merge is a CRDT and survives cereal", "[model][version]")
{
    test::crdt_rng rng(505);
    test::check_merge_laws<version>(rng);
    test::check_round_trips<version>(rng);
}

TEST_CASE("a version becoming deleted queues the deletion of each block reference", "[model][version]")
{
    test::recording_queue<model::block_ref> refs;
    model::version_schema<test::recording_queue<model::block_ref>> schema(refs);
    test::fake_tx tx;
    auto const live = with_blocks(pool_uuid(0), {{{1, 0}, 0}, {{1, 1024}, 1}, {{2, 0}, 2}});
    auto const dead = merged(live, version::tombstone(live.uuid, live.backlink));

    REQUIRE(schema.updated(tx, nullptr, &live));
    REQUIRE(schema.updated(tx, &live, &live));
    REQUIRE(schema.updated(tx, nullptr, &dead)); // nothing known to release
    CHECK(refs.queued.empty());

    REQUIRE(schema.updated(tx, &live, &dead));
    REQUIRE(refs.queued.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(refs.queued[i] == model::block_ref::tombstone(pool_hash(i), pool_uuid(0)));
    }
    REQUIRE(schema.updated(tx, &dead, &dead)); // already deleted: nothing more
    REQUIRE(schema.updated(tx, &dead, nullptr));
    CHECK(refs.queued.size() == 3);

    refs.fail = true;
    CHECK_FALSE(schema.updated(tx, &live, &dead));
    CHECK(model::version_schema<test::recording_queue<model::block_ref>>::matches_filter(
        dead, model::deleted_filter::deleted));
}
} // namespace
