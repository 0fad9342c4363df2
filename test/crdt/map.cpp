// Test that header file is self-contained.
#include <garage/crdt/map.hpp>

// cereal's std::map support must not compete with the member serialize (see map.hpp).
#include <cereal/types/map.hpp>

#include <garage/crdt/deletable.hpp>
#include <garage/crdt/flag.hpp>
#include <garage/crdt/lww.hpp>

#include <test/support/crdt_archetype.hpp>
#include <test/support/crdt_laws.hpp>
#include <test/support/crdt_random.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {
using namespace garage;
using test::merged;
using flag_map = crdt::map<std::string, crdt::flag>;
using register_map = crdt::map<std::string, crdt::lww<std::string>>;

static_assert(crdt::crdt<flag_map>);
static_assert(crdt::crdt<crdt::map<util::uuid, crdt::deletable<flag_map>>>);
static_assert(crdt::crdt<crdt::map<std::string, test::crdt_archetype>>);
static_assert(!crdt::crdt<crdt::map<std::string, crdt::flag>*>);

TEST_CASE("map put inserts new keys and merges into existing ones", "[crdt][map]")
{
    flag_map m;
    m.put("a", crdt::flag(false));
    m.put("b", crdt::flag(true));
    REQUIRE(m.size() == 2);
    CHECK_FALSE(m.get("a")->get());
    m.put("a", crdt::flag(true));
    CHECK(m.get("a")->get());
    m.put("a", crdt::flag(false)); // merging never unsets a flag
    CHECK(m.get("a")->get());
    CHECK(m.size() == 2);
    CHECK(m.get("c") == nullptr);
}

TEST_CASE("map put merges with the value type's rule", "[crdt][map]")
{
    register_map m;
    m.put("k", crdt::lww<std::string>::raw(10, "ten"));
    m.put("k", crdt::lww<std::string>::raw(5, "five"));
    CHECK(m.get("k")->get() == "ten");
    m.put("k", crdt::lww<std::string>::raw(11, "eleven"));
    CHECK(m.get("k")->get() == "eleven");
}

TEST_CASE("map put equals merging put_mutator", "[crdt][map]")
{
    test::crdt_rng rng(11);
    for (int i = 0; i < 200; ++i) {
        auto m = test::random_value<register_map>(rng);
        auto key = test::random_key<std::string>(rng);
        auto value = test::random_value<crdt::lww<std::string>>(rng);
        auto via_mutator = merged(m, register_map::put_mutator(key, value));
        m.put(key, value);
        REQUIRE(m == via_mutator);
    }
}

TEST_CASE("map merge is the union of keys with merged values", "[crdt][map]")
{
    flag_map a;
    a.put("x", crdt::flag(true));
    a.put("y", crdt::flag(false));
    flag_map b;
    b.put("y", crdt::flag(true));
    b.put("z", crdt::flag(false));
    auto const m = merged(a, b);
    REQUIRE(m.size() == 3);
    CHECK(m.get("x")->get());
    CHECK(m.get("y")->get());
    CHECK_FALSE(m.get("z")->get());
    std::vector<std::string> keys;
    for (auto const& [key, value] : m.items()) {
        keys.push_back(key);
    }
    CHECK(keys == std::vector<std::string>{"x", "y", "z"});
    CHECK(*m.get(std::string_view("y")) == crdt::flag(true));
}

TEST_CASE("map take_and_clear empties the map", "[crdt][map]")
{
    flag_map m;
    m.put("x", crdt::flag(true));
    auto const old = m.take_and_clear();
    CHECK(m.empty());
    CHECK(old.size() == 1);
    m.clear();
    CHECK(m.empty());
}

TEST_CASE("map merge of large maps agrees with putting entry by entry", "[crdt][map]")
{
    test::crdt_rng rng(12);
    for (int i = 0; i < 300; ++i) {
        auto const a = test::random_value<register_map>(rng);
        auto const b = test::random_value<register_map>(rng);
        auto reference = a;
        for (auto const& [key, value] : b.items()) {
            reference.put(key, value);
        }
        REQUIRE(merged(a, b) == reference);

        // Values for keys the map already has: the in-place path.
        auto const ab = merged(a, b);
        register_map newer;
        for (auto const& [key, value] : b.items()) {
            newer.put(key, crdt::lww<std::string>::raw(value.timestamp() + test::random_between(rng, 0, 1),
                                                       test::random_value<std::string>(rng)));
        }
        auto expected = ab;
        for (auto const& [key, value] : newer.items()) {
            expected.put(key, value);
        }
        REQUIRE(merged(ab, newer) == expected);
    }
}

TEMPLATE_TEST_CASE("map merge is commutative, associative and idempotent", "[crdt][map]", flag_map,
                   register_map, (crdt::map<std::string, crdt::deletable<flag_map>>),
                   (crdt::map<util::uuid, std::string>), (crdt::map<std::string, test::crdt_archetype>))
{
    test::crdt_rng rng(13);
    test::check_merge_laws<TestType>(rng);
}

TEMPLATE_TEST_CASE("map survives a cereal round trip", "[crdt][map]", flag_map, register_map,
                   (crdt::map<std::string, crdt::deletable<flag_map>>))
{
    test::crdt_rng rng(14);
    test::check_round_trips<TestType>(rng);
}

TEST_CASE("map refuses to decode keys out of order", "[crdt][map]")
{
    std::vector<flag_map::entry> entries{{"b", crdt::flag(true)}, {"a", crdt::flag(false)}};
    std::stringstream in_stream(test::cereal_bytes(entries));
    cereal::PortableBinaryInputArchive in(in_stream);
    flag_map m;
    CHECK_THROWS_AS(in(m), cereal::Exception);
    CHECK(m.empty());
}

} // namespace
