// Test that header file is self-contained.
#include <garage/layout/staging.hpp>

#include <garage/util/codec.hpp>

#include <test/layout/nodes.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

TEST_CASE("staged changes merge per node by timestamp and the parameters by LWW", "[layout][staging]")
{
    layout::layout_staging a;
    layout::layout_staging b;
    a.roles.merge_raw(test::layout_node(0), 10, layout::role_value{layout::node_role{"dc1", 100, {}}});
    b.roles.merge_raw(test::layout_node(0), 20, layout::role_value{}); // later removal wins
    b.roles.merge_raw(test::layout_node(1), 5, layout::role_value{layout::node_role{"dc2", 100, {}}});
    a.parameters = crdt::lww<layout::layout_parameters>::raw(
        30, layout::layout_parameters{layout::zone_redundancy::at_least(2)});
    b.parameters = crdt::lww<layout::layout_parameters>::raw(
        25, layout::layout_parameters{layout::zone_redundancy::maximum()});

    auto ab = a;
    ab.merge(b);
    auto ba = b;
    ba.merge(a);
    CHECK(ab == ba);
    CHECK_FALSE(ab.roles.get(test::layout_node(0))->role.has_value());
    CHECK(ab.roles.get(test::layout_node(1))->role->zone == "dc2");
    CHECK(ab.parameters.get().redundancy == layout::zone_redundancy::at_least(2));
    auto again = ab;
    again.merge(ab);
    CHECK(again == ab); // idempotent
}

TEST_CASE("staging round-trips through cereal and rejects unknown formats", "[layout][staging]")
{
    layout::layout_staging s;
    s.roles.merge_raw(test::layout_node(3), 7,
                      layout::role_value{layout::node_role{"z", std::nullopt, {"gw"}}});
    auto const bytes = util::encode(s);
    auto const back = util::decode<layout::layout_staging>(bytes);
    REQUIRE(back);
    CHECK(*back == s);

    auto bad = bytes;
    bad[2] = 9; // the format number: codec byte, endianness byte, then a little-endian u32
    CHECK_FALSE(util::decode<layout::layout_staging>(bad));
}

} // namespace
