// Test that header file is self-contained.
#include <garage/layout/role.hpp>

#include <garage/crdt/lww_map.hpp>
#include <garage/layout/error.hpp>
#include <garage/util/codec.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

static_assert(crdt::crdt<layout::role_value>);
static_assert(crdt::crdt<layout::layout_parameters>);

TEST_CASE("the partition of a hash is its first byte", "[layout][role]")
{
    util::hash32 h;
    CHECK(layout::partition_of(h) == 0);
    h[0] = 0xC3;
    h[1] = 0xFF;
    CHECK(layout::partition_of(h) == 0xC3);
    CHECK(layout::partition_count == 256);
    for (layout::partition_id p : {0, 1, 127, 255}) {
        auto const first = layout::first_hash_of(p);
        CHECK(layout::partition_of(first) == p);
        CHECK(first[1] == 0);
    }
}

TEST_CASE("zone redundancy parses as garage layout config -r does", "[layout][role]")
{
    for (auto s : {"none", "max", "maximum"}) {
        auto const z = layout::parse_zone_redundancy(s);
        REQUIRE(z);
        CHECK(z->is_maximum());
    }
    auto const two = layout::parse_zone_redundancy("2");
    REQUIRE(two);
    CHECK(*two == layout::zone_redundancy::at_least(2));
    CHECK(layout::to_string(*two) == "2");
    CHECK(layout::to_string(layout::zone_redundancy::maximum()) == "maximum");
    for (auto s : {"0", "-1", "two", "", "2x"}) {
        auto const bad = layout::parse_zone_redundancy(s);
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == layout::error::invalid_parameter);
    }
}

TEST_CASE("effective zone redundancy is capped by zones and replication factor", "[layout][role]")
{
    auto const max = layout::zone_redundancy::maximum();
    CHECK(max.effective(5, 3) == 3);
    CHECK(max.effective(2, 3) == 2);
    CHECK(layout::zone_redundancy::at_least(2).effective(5, 3) == 2);
    // Garage's order: AtLeast(n) < Maximum, so a merge of parameters prefers maximum.
    CHECK(layout::zone_redundancy::at_least(3) < max);
    CHECK(layout::zone_redundancy::at_least(1) < layout::zone_redundancy::at_least(2));
    layout::layout_parameters a{layout::zone_redundancy::at_least(2)};
    a.merge(layout::layout_parameters{max});
    CHECK(a.redundancy.is_maximum());
}

TEST_CASE("quorums follow the consistency mode table", "[layout][role]")
{
    using util::consistency_mode;
    CHECK(layout::write_quorum(1, consistency_mode::consistent) == 1);
    CHECK(layout::read_quorum(1, consistency_mode::consistent) == 1);
    CHECK(layout::write_quorum(2, consistency_mode::consistent) == 2);
    CHECK(layout::read_quorum(2, consistency_mode::consistent) == 1);
    CHECK(layout::write_quorum(2, consistency_mode::dangerous) == 1);
    CHECK(layout::write_quorum(3, consistency_mode::consistent) == 2);
    CHECK(layout::read_quorum(3, consistency_mode::consistent) == 2);
    CHECK(layout::write_quorum(3, consistency_mode::degraded) == 2);
    CHECK(layout::read_quorum(3, consistency_mode::degraded) == 1);
    CHECK(layout::write_quorum(3, consistency_mode::dangerous) == 1);
    CHECK(layout::read_quorum(3, consistency_mode::dangerous) == 1);
    CHECK(layout::write_quorum(5, consistency_mode::consistent) == 3);
}

TEST_CASE("byte counts print as the bytesize crate does", "[layout][role]")
{
    CHECK(layout::format_bytes(0) == "0 B");
    CHECK(layout::format_bytes(999) == "999 B");
    CHECK(layout::format_bytes(1000) == "1.0 KB");
    CHECK(layout::format_bytes(1'500'000) == "1.5 MB");
    CHECK(layout::format_bytes(2'000'000'000'000ULL) == "2.0 TB");
    layout::node_role const gw{"dc1", std::nullopt, {"a", "b"}};
    CHECK(gw.is_gateway());
    CHECK(gw.capacity_string() == "gateway");
    CHECK(gw.tags_string() == "a,b");
    layout::node_role const st{"dc1", 3'000'000'000, {}};
    CHECK(st.capacity_string() == "3.0 GB");
}

TEST_CASE("role values merge to the larger one and round-trip through cereal", "[layout][role]")
{
    layout::role_value none;
    layout::role_value const some{layout::node_role{"dc1", 100, {"t"}}};
    auto a = none;
    a.merge(some);
    CHECK(a == some);
    auto b = some;
    b.merge(none);
    CHECK(b == some); // commutative

    auto const bytes = util::encode(some);
    auto const back = util::decode<layout::role_value>(bytes);
    REQUIRE(back);
    CHECK(*back == some);
    auto const z = util::decode<layout::zone_redundancy>(util::encode(layout::zone_redundancy::at_least(2)));
    REQUIRE(z);
    CHECK(*z == layout::zone_redundancy::at_least(2));
}

} // namespace
