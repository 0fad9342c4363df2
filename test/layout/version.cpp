// Test that header file is self-contained.
#include <garage/layout/version.hpp>

#include <garage/layout/error.hpp>
#include <garage/layout/history.hpp>
#include <garage/layout/staging.hpp>
#include <garage/util/codec.hpp>

#include <test/layout/nodes.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

namespace {
using namespace garage;
using test::layout_node;

bool contains_line(layout::report const& r, std::string const& needle)
{
    return std::any_of(r.begin(), r.end(),
                       [&](std::string const& l) { return l.find(needle) != std::string::npos; });
}

/// Version 1 of three 1 GB nodes in dc1..dc3 with a gateway in dc1, rf 3.
layout::layout_version three_zones(layout::report* msg = nullptr)
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000},
                          {1, "dc2", 1'000'000'000},
                          {2, "dc3", 1'000'000'000},
                          {3, "dc1", std::nullopt}});
    auto r = h.apply_staged_changes(1);
    REQUIRE(r);
    if (msg != nullptr) {
        *msg = *r;
    }
    return h.current();
}

TEST_CASE("an empty layout is not ready and fails its check", "[layout][version]")
{
    auto const v = layout::layout_version::make_empty(3);
    CHECK(v.version == 0);
    CHECK_FALSE(v.is_ready());
    CHECK(v.nodes_of(layout::partition_id{0}).empty());
    auto const c = v.check();
    REQUIRE_FALSE(c);
    CHECK(c.error().code == layout::error::invalid_layout);
}

TEST_CASE("the next version lists storage nodes first and assigns every partition", "[layout][version]")
{
    layout::report msg;
    auto const v = three_zones(&msg);
    CHECK(v.version == 1);
    CHECK(v.is_ready());
    REQUIRE(v.node_ids.size() == 4);
    CHECK(v.storage_node_count == 3);
    CHECK(v.node_ids[3] == layout_node(3)); // the gateway last
    CHECK(v.storage_nodes() == std::vector<util::node_id>{layout_node(0), layout_node(1), layout_node(2)});
    CHECK(v.partition_size == 3'906'250);
    CHECK(v.effective_zone_redundancy() == 3);
    CHECK(v.check());
    CHECK(v.check_optimal());
    CHECK(v.partitions_of_node(layout_node(0)) == 256);
    CHECK(v.partitions_of_node(layout_node(3)) == 0);

    util::hash32 h;
    h[0] = 77;
    auto const nodes = v.nodes_of(h);
    CHECK(nodes == v.nodes_of(layout::partition_id{77}));
    CHECK(std::set<util::node_id>(nodes.begin(), nodes.end()).size() == 3);

    CHECK(contains_line(msg, "==== COMPUTATION OF A NEW PARTITION ASSIGNATION ===="));
    CHECK(contains_line(msg, "Partitions are replicated 3 times on at least 3 distinct zones."));
    CHECK(contains_line(msg, "Optimal partition size:                     3.9 MB"));
    CHECK(contains_line(msg, "Usable capacity / total cluster capacity:   3.0 GB / 3.0 GB (100.0 %)"));
    CHECK(contains_line(msg, "Effective capacity (replication factor 3):  1.0 GB"));
    CHECK_FALSE(contains_line(msg, "new copies of partitions"));
    CHECK(contains_line(msg, "256 (256 new)"));
}

TEST_CASE("a new zone reports the copies to transfer", "[layout][version]")
{
    auto const v1 = three_zones();
    layout::layout_staging st;
    st.parameters = crdt::lww<layout::layout_parameters>(v1.parameters);
    st.roles = v1.roles.update_mutator(layout_node(4),
                                       layout::role_value{layout::node_role{"dc4", 1'000'000'000, {}}});
    auto const next = v1.next_version(st);
    REQUIRE(next);
    auto const& v2 = next->first;
    CHECK(v2.version == 2);
    CHECK(v2.check());
    // Four 1 GB nodes in four zones, rf 3: each holds 192 partitions, s = 1e9 / 192.
    CHECK(v2.partition_size == 5'208'333);
    std::size_t moved = 0;
    for (layout::partition_id p = 0; p < layout::partition_count; ++p) {
        auto const before = v1.nodes_of(p);
        for (auto const& n : v2.nodes_of(p)) {
            moved += std::find(before.begin(), before.end(), n) == before.end() ? 1 : 0;
        }
    }
    CHECK(moved == 192); // exactly what the new node takes
    CHECK(contains_line(next->second, "A total of 192 new copies of partitions need to be transferred."));
    CHECK(contains_line(next->second, "(3.9 MB in previous layout)"));
}

TEST_CASE("maximum zone redundancy counts only zones with storage nodes", "[layout][version]")
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000},
                          {1, "dc1", 1'000'000'000},
                          {2, "dc2", 1'000'000'000},
                          {3, "dc3", std::nullopt}});
    REQUIRE(h.apply_staged_changes(1));
    CHECK(h.current().effective_zone_redundancy() == 2);
    CHECK(h.current().check());
}

TEST_CASE("the check finds every kind of corruption", "[layout][version]")
{
    auto const good = three_zones();
    REQUIRE(good.check());

    auto dup = good;
    dup.ring[1] = dup.ring[0];
    CHECK_FALSE(dup.check());

    auto gateway = good;
    gateway.ring[0] = 3; // the gateway's index
    CHECK_FALSE(gateway.check());

    auto short_ring = good;
    short_ring.ring.pop_back();
    CHECK_FALSE(short_ring.check());

    auto too_big = good;
    too_big.partition_size += 1; // 256 partitions no longer fit in 1 GB
    CHECK_FALSE(too_big.check());

    auto not_optimal = good;
    not_optimal.partition_size -= 1;
    CHECK(not_optimal.check());
    auto const c = not_optimal.check_optimal();
    REQUIRE_FALSE(c);
    CHECK(c.error().code == layout::error::invalid_layout);

    auto missing = good;
    missing.node_ids.pop_back();
    CHECK_FALSE(missing.check());
}

TEST_CASE("a layout version round-trips through cereal", "[layout][version]")
{
    auto const v = three_zones();
    auto const bytes = util::encode(v);
    auto const back = util::decode<layout::layout_version>(bytes);
    REQUIRE(back);
    CHECK(*back == v);
    CHECK(back->check());
    CHECK_FALSE(util::decode<layout::layout_version>(bytes.substr(0, bytes.size() - 3)));
    auto bad = bytes;
    bad[2] = 2; // format 2 does not exist
    CHECK_FALSE(util::decode<layout::layout_version>(bad));
}

} // namespace
