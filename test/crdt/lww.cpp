// Test that header file is self-contained.
#include <garage/crdt/lww.hpp>

#include <garage/crdt/deletable.hpp>
#include <garage/crdt/flag.hpp>
#include <garage/crdt/map.hpp>
#include <garage/util/time.hpp>

#include <test/support/crdt_archetype.hpp>
#include <test/support/crdt_laws.hpp>
#include <test/support/crdt_random.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace {
using namespace garage;
using test::merged;
using reg = crdt::lww<std::string>;

constexpr std::uint64_t one_hour_ms = 3'600'000;

static_assert(crdt::crdt<reg>);
static_assert(crdt::crdt<crdt::lww<test::crdt_archetype>>);
static_assert(!std::default_initializable<crdt::lww<test::crdt_archetype>>); // T has no default
static_assert(std::default_initializable<reg>);

TEST_CASE("lww merge keeps the later timestamp", "[crdt][lww]")
{
    auto const old = reg::raw(100, "zzz"); // the larger string loses: time decides first
    auto const young = reg::raw(200, "aaa");
    CHECK(merged(old, young) == young);
    CHECK(merged(young, old) == young);
    CHECK(merged(old, young).get() == "aaa");
    CHECK(merged(old, young).timestamp() == 200);
}

TEST_CASE("lww with equal timestamps merges the values", "[crdt][lww]")
{
    // Plain values: the auto-crdt maximum, whichever side merges.
    CHECK(merged(reg::raw(5, "a"), reg::raw(5, "b")).get() == "b");
    CHECK(merged(reg::raw(5, "b"), reg::raw(5, "a")).get() == "b");

    // Optional values: Garage's rule, two different writes with one timestamp give nullopt.
    using opt_reg = crdt::lww<std::optional<std::string>>;
    CHECK(merged(opt_reg::raw(5, "a"), opt_reg::raw(5, "b")).get() == std::nullopt);
    CHECK(merged(opt_reg::raw(5, "a"), opt_reg::raw(5, "a")).get() == "a");

    // CRDT values: their own merge, here the union of two maps.
    using map_reg = crdt::lww<crdt::map<std::string, crdt::flag>>;
    crdt::map<std::string, crdt::flag> left;
    left.put("x", crdt::flag(true));
    crdt::map<std::string, crdt::flag> right;
    right.put("y", crdt::flag(false));
    auto const m = merged(map_reg::raw(7, left), map_reg::raw(7, right));
    CHECK(m.timestamp() == 7);
    CHECK(m.get().size() == 2);
}

TEST_CASE("a new lww is stamped with the current time", "[crdt][lww]")
{
    auto const before = util::now_msec();
    reg r("value");
    auto const after = util::now_msec();
    CHECK(r.timestamp() >= before);
    CHECK(r.timestamp() <= after);
    CHECK(r.get() == "value");
}

TEST_CASE("a default lww has timestamp zero and loses to any write", "[crdt][lww]")
{
    reg r;
    CHECK(r.timestamp() == 0);
    CHECK(r.get().empty());
    crdt::merge(r, reg::raw(1, "first"));
    CHECK(r.get() == "first");
}

TEST_CASE("lww update moves the timestamp strictly forward", "[crdt][lww]")
{
    SECTION("from a timestamp in the past, to the current time")
    {
        auto r = reg::raw(5, "old");
        auto const before = util::now_msec();
        r.update("new");
        CHECK(r.timestamp() >= before);
        CHECK(r.get() == "new");
    }
    SECTION("from a timestamp in the future, to one past it")
    {
        auto const future = util::now_msec() + one_hour_ms;
        auto const original = reg::raw(future, "zzz-from-a-fast-clock");
        auto r = original;
        r.update("aaa");
        CHECK(r.timestamp() == future + 1);
        // The update wins over the value it replaced, though that value is larger.
        CHECK(merged(r, original).get() == "aaa");
        CHECK(merged(original, r).get() == "aaa");
    }
    SECTION("twice in the same millisecond")
    {
        auto r = reg::raw(util::now_msec() + one_hour_ms, "a");
        r.update("b");
        auto const first = r.timestamp();
        r.update("c");
        CHECK(r.timestamp() == first + 1);
    }
}

TEST_CASE("lww get_mut changes the value without a new timestamp", "[crdt][lww]")
{
    using map_reg = crdt::lww<crdt::map<std::string, crdt::flag>>;
    auto base = map_reg::raw(42, {});
    base.get_mut().put("a", crdt::flag(false));

    // A delta: same timestamp, only the changed entry. Merged, it adds to the map.
    auto delta = map_reg::raw(42, {});
    delta.get_mut().put("b", crdt::flag(true));
    crdt::merge(base, delta);
    CHECK(base.timestamp() == 42);
    REQUIRE(base.get().size() == 2);
    CHECK(base.get().get(std::string_view("b"))->get());

    CHECK(std::move(base).take().size() == 2);
}

TEMPLATE_TEST_CASE("lww merge is commutative, associative and idempotent", "[crdt][lww]",
                   crdt::lww<std::string>, crdt::lww<bool>, crdt::lww<std::optional<std::string>>,
                   (crdt::lww<crdt::map<std::string, crdt::flag>>), crdt::lww<crdt::deletable<crdt::flag>>,
                   crdt::lww<test::crdt_archetype>, crdt::lww<crdt::lww<std::string>>)
{
    test::crdt_rng rng(1);
    test::check_merge_laws<TestType>(rng);
}

TEMPLATE_TEST_CASE("lww survives a cereal round trip", "[crdt][lww]", crdt::lww<std::string>,
                   crdt::lww<std::optional<util::uuid>>, (crdt::lww<crdt::map<std::string, crdt::flag>>))
{
    test::crdt_rng rng(2);
    test::check_round_trips<TestType>(rng);
}

TEST_CASE("lww keeps its exact timestamp through cereal and rejects truncated bytes", "[crdt][lww]")
{
    auto const r = reg::raw(0x0123'4567'89ab'cdefULL, "payload");
    auto const back = test::cereal_round_trip(r);
    CHECK(back.timestamp() == 0x0123'4567'89ab'cdefULL);
    CHECK(back.get() == "payload");

    auto bytes = test::cereal_bytes(r);
    bytes.resize(bytes.size() - 3);
    std::stringstream truncated(bytes);
    cereal::PortableBinaryInputArchive in(truncated);
    reg out;
    CHECK_THROWS_AS(in(out), cereal::Exception);
}

} // namespace
