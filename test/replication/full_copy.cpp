// Test that header file is self-contained.
#include <garage/replication/full_copy.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {
using namespace garage;
using util::consistency_mode;

util::node_id node(std::size_t i)
{
    util::node_id id;
    id[0] = static_cast<std::uint8_t>(i + 1);
    return id;
}

/// n storage nodes in n zones (rf = min(n, 3)), plus `gateways` gateways.
layout::layout_history cluster(std::size_t n, std::size_t gateways = 0)
{
    auto const rf = n < 3 ? n : 3;
    auto h = layout::layout_history::make(rf);
    for (std::size_t i = 0; i < n + gateways; ++i) {
        layout::assign_options o;
        o.zone = "dc" + std::to_string(i);
        if (i < n) {
            o.capacity = 1'000'000'000;
        } else {
            o.gateway = true;
        }
        h.stage_assign(node(i), o).value();
    }
    h.apply_staged_changes(1).value();
    return h;
}

static_assert(replication::replication_policy<replication::full_copy>);

TEST_CASE("full_copy stores on every node, gateways included, and reads locally", "[replication][full_copy]")
{
    layout::static_layout_source src(node(1), 3, consistency_mode::consistent, cluster(3, 1));
    replication::full_copy const r(src);
    util::hash32 h;
    h[0] = 0xEE;
    auto const nodes = r.storage_nodes(h);
    REQUIRE(nodes.size() == 4);
    CHECK(nodes == src.snapshot()->current().all_nodes());
    CHECK(r.read_nodes(h)[0] == node(1));
    CHECK(r.read_quorum() == 1);
    auto const sets = r.write_sets(h);
    REQUIRE(sets.size() == 1);
    CHECK(sets[0] == nodes);
    CHECK(r.write_quorum() == 3); // n - 1: one node may be down
    CHECK(r.partition_of(h) == 0);
    auto const sp = r.sync_partitions();
    CHECK(sp.layout_version == 1);
    REQUIRE(sp.partitions.size() == 1);
    CHECK(sp.partitions[0].first_hash == util::hash32{});
    CHECK(sp.partitions[0].last_hash == util::hash32{});
    CHECK(sp.partitions[0].storage_nodes == nodes);
}

TEST_CASE("full_copy's write quorum tolerates one fault, and is 1 for one node or none",
          "[replication][full_copy]")
{
    util::hash32 const h;
    layout::static_layout_source two(node(0), 2, consistency_mode::consistent, cluster(2));
    CHECK(replication::full_copy(two).write_quorum() == 1);
    layout::static_layout_source one(node(0), 1, consistency_mode::consistent, cluster(1));
    CHECK(replication::full_copy(one).write_quorum() == 1);
    CHECK(replication::full_copy(one).storage_nodes(h).size() == 1);
    layout::static_layout_source five(node(0), 3, consistency_mode::consistent, cluster(5));
    CHECK(replication::full_copy(five).write_quorum() == 4);
    layout::static_layout_source none(node(0), 3, consistency_mode::consistent,
                                      layout::layout_history::make(3));
    replication::full_copy const f(none);
    CHECK(f.storage_nodes(h).empty());
    CHECK(f.write_quorum() == 1);
    CHECK(f.sync_partitions().layout_version == 0);

    // The policy follows the source's changes.
    none.set(cluster(3));
    CHECK(f.storage_nodes(h).size() == 3);
    CHECK(f.write_quorum() == 2);
}

} // namespace
