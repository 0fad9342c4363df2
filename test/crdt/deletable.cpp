// Test that header file is self-contained.
#include <garage/crdt/deletable.hpp>

#include <garage/crdt/flag.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/crdt/map.hpp>

#include <test/support/crdt_archetype.hpp>
#include <test/support/crdt_laws.hpp>
#include <test/support/crdt_random.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {
using namespace garage;
using test::merged;
using state = crdt::deletable<crdt::map<std::string, crdt::flag>>;
using name_state = crdt::deletable<crdt::lww<std::string>>;

static_assert(crdt::crdt<state>);
static_assert(crdt::crdt<crdt::deletable<test::crdt_archetype>>);
static_assert(!crdt::crdt<crdt::deletable<test::crdt_archetype>*>);

TEST_CASE("deleted absorbs present values on either side", "[crdt][deletable]")
{
    auto const present = name_state::present(crdt::lww<std::string>::raw(99, "bucket"));
    auto const deleted = name_state::deleted();
    CHECK(merged(present, deleted).is_deleted());
    CHECK(merged(deleted, present).is_deleted());
    CHECK(merged(deleted, deleted).is_deleted());
    // Even a later write does not bring a deleted value back.
    auto later = present;
    later.get_mut()->update("renamed");
    CHECK(merged(deleted, later).is_deleted());
}

TEST_CASE("two present values merge with the value's rule", "[crdt][deletable]")
{
    auto const a = name_state::present(crdt::lww<std::string>::raw(1, "old"));
    auto const b = name_state::present(crdt::lww<std::string>::raw(2, "new"));
    auto const m = merged(a, b);
    REQUIRE_FALSE(m.is_deleted());
    CHECK(m.get()->get() == "new");
    CHECK(m == merged(b, a));
}

TEST_CASE("a default deletable is deleted and remove() deletes", "[crdt][deletable]")
{
    state s;
    CHECK(s.is_deleted());
    CHECK(s.get() == nullptr);
    CHECK(s.get_mut() == nullptr);

    state p(crdt::map<std::string, crdt::flag>{});
    REQUIRE_FALSE(p.is_deleted());
    p.get_mut()->put("x", crdt::flag(true));
    CHECK(p.get()->size() == 1);
    auto taken = state(p).take();
    REQUIRE(taken.has_value());
    CHECK(taken->size() == 1);
    p.remove();
    CHECK(p.is_deleted());
    CHECK(p == state::deleted());
    CHECK_FALSE(std::move(p).take().has_value());
}

TEMPLATE_TEST_CASE("deletable merge is commutative, associative and idempotent", "[crdt][deletable]",
                   crdt::deletable<crdt::flag>, state, name_state, crdt::deletable<test::crdt_archetype>,
                   crdt::deletable<crdt::deletable<std::string>>)
{
    test::crdt_rng rng(31);
    test::check_merge_laws<TestType>(rng);
}

TEMPLATE_TEST_CASE("deletable survives a cereal round trip", "[crdt][deletable]", crdt::deletable<crdt::flag>,
                   state, name_state)
{
    test::crdt_rng rng(32);
    test::check_round_trips<TestType>(rng);
}

TEST_CASE("a deleted value serializes to a presence byte only", "[crdt][deletable]")
{
    CHECK(test::cereal_bytes(state::deleted()).size() == 2); // endianness header + presence
    CHECK(test::cereal_round_trip(state::deleted()).is_deleted());
}

} // namespace
