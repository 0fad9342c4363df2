// Test that header file is self-contained.
#include <garage/crdt/flag.hpp>

#include <test/support/crdt_laws.hpp>
#include <test/support/crdt_random.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::merged;

static_assert(crdt::crdt<crdt::flag>);
static_assert(!std::is_convertible_v<bool, crdt::flag>); // explicit: no accidental flags
// Usable in constant expressions.
static_assert([] {
    crdt::flag f;
    crdt::merge(f, crdt::flag(true));
    crdt::merge(f, crdt::flag(false));
    return f.get();
}());

TEST_CASE("a flag starts unset and set() sets it", "[crdt][flag]")
{
    crdt::flag f;
    CHECK_FALSE(f.get());
    f.set();
    CHECK(f.get());
    f.set();
    CHECK(f.get());
}

TEST_CASE("a flag once set stays set through merges", "[crdt][flag]")
{
    CHECK_FALSE(merged(crdt::flag(false), crdt::flag(false)).get());
    CHECK(merged(crdt::flag(false), crdt::flag(true)).get());
    CHECK(merged(crdt::flag(true), crdt::flag(false)).get());
    CHECK(merged(crdt::flag(true), crdt::flag(true)).get());
}

TEST_CASE("flag merge is commutative, associative and idempotent", "[crdt][flag]")
{
    test::crdt_rng rng(21);
    test::check_merge_laws<crdt::flag>(rng);
}

TEST_CASE("flag survives a cereal round trip as one byte", "[crdt][flag]")
{
    CHECK(test::cereal_round_trip(crdt::flag(true)).get());
    CHECK_FALSE(test::cereal_round_trip(crdt::flag(false)).get());
    // Portable binary: one byte of endianness header, then the boolean.
    CHECK(test::cereal_bytes(crdt::flag(true)).size() == 2);
}

} // namespace
