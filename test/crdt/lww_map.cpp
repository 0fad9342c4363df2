// Test that header file is self-contained.
#include <garage/crdt/lww_map.hpp>

// cereal's std::map support must not compete with the member serialize (see map.hpp).
#include <cereal/types/map.hpp>

#include <garage/crdt/flag.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/crdt/map.hpp>
#include <garage/util/time.hpp>

#include <test/support/crdt_archetype.hpp>
#include <test/support/crdt_laws.hpp>
#include <test/support/crdt_random.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {
using namespace garage;
using test::merged;
using alias_map = crdt::lww_map<std::string, std::optional<util::uuid>>;
using string_map = crdt::lww_map<std::string, std::string>;

constexpr std::uint64_t one_hour_ms = 3'600'000;

static_assert(crdt::crdt<string_map>);
static_assert(crdt::crdt<crdt::lww_map<std::string, crdt::lww<std::string>>>);
static_assert(crdt::crdt<crdt::lww_map<std::string, test::crdt_archetype>>);
static_assert(crdt::crdt<crdt::lww_map<test::auto_crdt_archetype, bool>>);

util::uuid id(std::uint8_t n)
{
    util::uuid u;
    u[0] = n;
    return u;
}

TEST_CASE("lww_map update_mutator is a delta stamped now that leaves the map alone", "[crdt][lww_map]")
{
    string_map m;
    auto const before = util::now_msec();
    auto const delta = m.update_mutator("k", "v");
    auto const after = util::now_msec();
    CHECK(m.empty());
    REQUIRE(delta.size() == 1);
    auto const& e = delta.items()[0];
    CHECK(e.key == "k");
    CHECK(e.value == "v");
    CHECK(e.timestamp >= before);
    CHECK(e.timestamp <= after);
    crdt::merge(m, delta);
    CHECK(m == delta);
}

TEST_CASE("lww_map update_mutator beats a timestamp from the future", "[crdt][lww_map]")
{
    auto const future = util::now_msec() + one_hour_ms;
    auto m = string_map::raw_item("k", future, "zzz");
    auto const delta = m.update_mutator("k", "aaa");
    CHECK(delta.get_timestamp("k") == future + 1);
    crdt::merge(m, delta);
    CHECK(*m.get("k") == "aaa");
    CHECK(m.get_timestamp("k") == future + 1);
}

TEST_CASE("lww_map update_in_place equals merging the mutator", "[crdt][lww_map]")
{
    auto const future = util::now_msec() + one_hour_ms;
    auto m = string_map::raw_item("b", future, "old");
    auto via_mutator = m;
    crdt::merge(via_mutator, via_mutator.update_mutator("b", "new"));
    crdt::merge(via_mutator, via_mutator.update_mutator("a", "added"));
    m.update_in_place("b", "new");
    m.update_in_place("a", "added");
    // "a" is stamped with the current time by both; the clock may tick in between.
    CHECK(m.get_timestamp("b") == future + 1);
    CHECK(via_mutator.get_timestamp("b") == future + 1);
    CHECK(*m.get("a") == "added");
    CHECK(*via_mutator.get("a") == "added");
    CHECK(m.size() == 2);
    CHECK(m.items()[0].key == "a");
}

TEST_CASE("lww_map merge_raw keeps the later write per key", "[crdt][lww_map]")
{
    auto m = string_map::raw_item("k", 10, "ten");
    m.merge_raw("k", 5, "five");
    CHECK(*m.get("k") == "ten");
    m.merge_raw("k", 20, "a-twenty");
    CHECK(*m.get("k") == "a-twenty");
    CHECK(m.get_timestamp("k") == 20);
    m.merge_raw("k", 20, "b-twenty"); // equal timestamps: values merge (max)
    CHECK(*m.get("k") == "b-twenty");
    m.merge_raw("j", 1, "one");
    CHECK(m.size() == 2);
    CHECK(m.get_timestamp("missing") == 0);
    CHECK(m.get("missing") == nullptr);
}

TEST_CASE("lww_map merges the union of keys with per-key last writer wins", "[crdt][lww_map]")
{
    auto a = string_map::raw_item("x", 1, "ax");
    a.merge_raw("y", 5, "ay");
    auto b = string_map::raw_item("y", 3, "by");
    b.merge_raw("z", 2, "bz");
    auto const m = merged(a, b);
    REQUIRE(m.size() == 3);
    CHECK(*m.get("x") == "ax");
    CHECK(*m.get("y") == "ay");
    CHECK(*m.get("z") == "bz");
    CHECK(m == merged(b, a));
}

TEST_CASE("lww_map items are sorted by key and looked up heterogeneously", "[crdt][lww_map]")
{
    string_map m;
    for (auto const* k : {"delta", "alpha", "charlie", "bravo"}) {
        m.update_in_place(k, std::string(k) + "!");
    }
    std::vector<std::string> keys;
    for (auto const& [key, timestamp, value] : m.items()) {
        keys.push_back(key);
        CHECK(value == key + "!");
        CHECK(timestamp > 0);
    }
    CHECK(keys == std::vector<std::string>{"alpha", "bravo", "charlie", "delta"});
    CHECK(*m.get(std::string_view("charlie")) == "charlie!");
}

TEST_CASE("lww_map deletes by tombstone values, never by removing keys", "[crdt][lww_map]")
{
    // Garage's key table keeps `local_aliases: LwwMap<String, Option<Uuid>>`; None = deleted.
    alias_map aliases;
    aliases.update_in_place("photos", id(1));
    auto const stale = aliases; // a replica that has not seen the deletion
    aliases.update_in_place("photos", std::nullopt);
    CHECK(aliases.size() == 1);
    REQUIRE(aliases.get("photos") != nullptr);
    CHECK(*aliases.get("photos") == std::nullopt);
    // The stale copy cannot bring the alias back, in either direction.
    CHECK(*merged(aliases, stale).get("photos") == std::nullopt);
    CHECK(*merged(stale, aliases).get("photos") == std::nullopt);
}

TEST_CASE("lww_map take_and_clear turns a field into a delta", "[crdt][lww_map]")
{
    auto m = string_map::raw_item("a", 1, "x");
    m.merge_raw("b", 1, "y");
    auto const old = m.take_and_clear();
    CHECK(m.empty());
    CHECK(old.size() == 2);
    crdt::merge(m, old.update_mutator("b", "z"));
    CHECK(m.size() == 1);
    CHECK(*m.get("b") == "z");
    CHECK(merged(old, m).size() == 2);
    CHECK(*merged(old, m).get("b") == "z");
}

TEST_CASE("lww_map merge of large maps agrees with merging entry by entry", "[crdt][lww_map]")
{
    // Maps above the small-delta threshold take the linear path; merge_raw is the reference.
    using nested = crdt::lww_map<std::string, crdt::lww<std::string>>;
    test::crdt_rng rng(3);
    int large = 0;
    for (int i = 0; i < 300; ++i) {
        auto const a = test::random_value<nested>(rng);
        auto const b = test::random_value<nested>(rng);
        large += b.size() > crdt::detail::small_delta_size ? 1 : 0;
        auto reference = a;
        for (auto const& [key, timestamp, value] : b.items()) {
            reference.merge_raw(key, timestamp, value);
        }
        REQUIRE(merged(a, b) == reference);

        // Newer writes to keys the map already has (no new key: merged in place).
        auto const ab = merged(a, b);
        nested newer;
        for (auto const& [key, timestamp, value] : b.items()) {
            auto const bump = test::random_between(rng, 0, 1);
            newer.merge_raw(key, timestamp + bump, test::random_value<crdt::lww<std::string>>(rng));
        }
        auto expected = ab;
        for (auto const& [key, timestamp, value] : newer.items()) {
            expected.merge_raw(key, timestamp, value);
        }
        REQUIRE(merged(ab, newer) == expected);
    }
    CHECK(large > 30);
}

TEMPLATE_TEST_CASE("lww_map merge is commutative, associative and idempotent", "[crdt][lww_map]", string_map,
                   alias_map, (crdt::lww_map<std::string, crdt::lww<std::string>>),
                   (crdt::lww_map<std::string, crdt::map<std::string, crdt::flag>>),
                   (crdt::lww_map<std::string, test::crdt_archetype>),
                   (crdt::lww_map<test::auto_crdt_archetype, bool>))
{
    test::crdt_rng rng(4);
    test::check_merge_laws<TestType>(rng);
}

TEMPLATE_TEST_CASE("lww_map survives a cereal round trip", "[crdt][lww_map]", string_map, alias_map,
                   (crdt::lww_map<std::string, crdt::lww<std::string>>))
{
    test::crdt_rng rng(5);
    test::check_round_trips<TestType>(rng);
}

TEST_CASE("lww_map refuses to decode keys out of order", "[crdt][lww_map]")
{
    // The same bytes as a map, but with keys in the wrong order (or repeated).
    for (auto const& keys : {std::vector<std::string>{"b", "a"}, std::vector<std::string>{"a", "a"}}) {
        std::vector<string_map::entry> entries;
        for (auto const& k : keys) {
            entries.push_back({k, 1, "v"});
        }
        auto const bytes = test::cereal_bytes(entries);
        std::stringstream in_stream(bytes);
        cereal::PortableBinaryInputArchive in(in_stream);
        string_map m;
        CHECK_THROWS_AS(in(m), cereal::Exception);
        CHECK(m.empty());
    }
    // Sorted entries decode fine: the byte layout is the one assumed above.
    std::vector<string_map::entry> sorted{{"a", 1, "v"}, {"b", 2, "w"}};
    std::stringstream in_stream(test::cereal_bytes(sorted));
    cereal::PortableBinaryInputArchive in(in_stream);
    string_map m;
    in(m);
    CHECK(m.size() == 2);
    CHECK(m.get_timestamp("b") == 2);
}

} // namespace
