// Test that header file is self-contained.
#include <garage/layout/helper.hpp>

#include <test/layout/nodes.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

namespace {
using namespace garage;
using test::layout_node;
using util::consistency_mode;

/// Versions 1 (nodes 0..2 in dc1..dc3) and 2 (node 3 added in dc4), both live, rf 3.
layout::layout_history two_versions()
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}, {2, "dc3", 1'000'000'000}});
    h.apply_staged_changes(1).value();
    test::stage_nodes(h, {{3, "dc4", 1'000'000'000}});
    h.apply_staged_changes(2).value();
    return h;
}

/// A hash of a partition that node 3 stores in version 2.
util::hash32 moved_hash(layout::layout_history const& h)
{
    for (layout::partition_id p = 0; p < layout::partition_count; ++p) {
        auto const nodes = h.current().nodes_of(p);
        if (std::find(nodes.begin(), nodes.end(), layout_node(3)) != nodes.end()) {
            return layout::first_hash_of(p);
        }
    }
    FAIL("node 3 stores nothing");
    return {};
}

TEST_CASE("with one version, reads and writes go to its nodes", "[layout][helper]")
{
    auto h = two_versions();
    h.keep_current_version_only();
    layout::layout_helper const lh(3, consistency_mode::consistent, h);
    util::hash32 x;
    x[0] = 200;
    CHECK(lh.partition_of(x) == 200);
    CHECK(lh.sync_map_min() == 2);
    CHECK(lh.read_nodes_of(x) == lh.current().nodes_of(x));
    auto const sets = lh.write_sets_of(x);
    REQUIRE(sets.size() == 1);
    CHECK(sets[0] == lh.current().nodes_of(x));
    CHECK(lh.is_check_ok());
    CHECK(lh.all_storage_nodes().size() == 4);
}

TEST_CASE("during a transition, writes go to both versions and reads to the old one", "[layout][helper]")
{
    auto const h = two_versions();
    layout::layout_helper lh(3, consistency_mode::consistent, h);
    REQUIRE(lh.versions().size() == 2);
    auto const x = moved_hash(h);
    auto const sets = lh.write_sets_of(x);
    REQUIRE(sets.size() == 2);
    CHECK(sets[0] == lh.versions()[0].nodes_of(x));
    CHECK(sets[1] == lh.versions()[1].nodes_of(x));
    CHECK(sets[0] != sets[1]);
    CHECK(lh.storage_nodes_of(x).size() == 4); // the union
    CHECK(lh.current_storage_nodes_of(x) == sets[1]);
    CHECK(lh.sync_map_min() == 1);
    CHECK(lh.read_nodes_of(x) == sets[0]);
    CHECK(lh.ack_map_min() == 1);
}

TEST_CASE("reads move to the new version once a write quorum of each old set has synced", "[layout][helper]")
{
    layout::layout_helper lh(3, consistency_mode::consistent, two_versions());
    auto const x = moved_hash(lh.history());

    // Nodes 0 and 1 (two of the three nodes of every version-1 partition) synced version 2.
    CHECK(lh.sync_until(layout_node(0), 2));
    CHECK(lh.sync_map_min() == 1);
    CHECK(lh.sync_until(layout_node(1), 2));
    CHECK(lh.sync_map_min() == 2);
    CHECK(lh.read_nodes_of(x) == lh.current().nodes_of(x));
    CHECK(lh.versions().size() == 2); // still live: nobody acknowledged the sync

    // Every node of the current version acknowledges it: version 1 retires.
    for (std::size_t i = 0; i < 4; ++i) {
        lh.update_trackers_of(layout_node(i));
    }
    CHECK(lh.versions().size() == 1);
    CHECK(lh.history().old_versions.size() == 1);
    CHECK(lh.write_sets_of(x).size() == 1);
}

TEST_CASE("with rf equal to the write quorum, reads wait for every node", "[layout][helper]")
{
    auto h = layout::layout_history::make(2);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}});
    h.apply_staged_changes(1).value();
    test::stage_nodes(h, {{2, "dc3", 1'000'000'000}});
    h.apply_staged_changes(2).value();
    layout::layout_helper lh(2, consistency_mode::consistent, h);
    lh.sync_until(layout_node(0), 2);
    lh.sync_until(layout_node(1), 2);
    CHECK(lh.sync_map_min() == 1); // node 2 has not synced
    lh.sync_until(layout_node(2), 2);
    CHECK(lh.sync_map_min() == 2);
}

TEST_CASE("without consistency only the current version stays live", "[layout][helper]")
{
    layout::layout_helper const lh(3, consistency_mode::degraded, two_versions());
    CHECK(lh.versions().size() == 1);
    CHECK(lh.current().version == 2);
    CHECK(lh.history().old_versions.size() == 1);
}

TEST_CASE("a node does not acknowledge a version while older writes are in flight", "[layout][helper]")
{
    auto h = two_versions();
    h.keep_current_version_only();
    // Back to a single live version 2, then version 3 arrives while a write on 2 runs.
    layout::layout_helper lh(3, consistency_mode::consistent, h);
    auto const self = layout_node(0);
    auto const locked = lh.lock_write();
    CHECK(locked == 2);
    lh.update([](layout::layout_history& hist) {
        test::stage_nodes(hist, {{4, "dc1", 1'000'000'000}});
        return static_cast<bool>(hist.apply_staged_changes(3));
    });
    REQUIRE(lh.current().version == 3);
    lh.ack_max_free(self);
    CHECK(lh.history().trackers.ack.get(self, 0) == 2);
    lh.unlock_write(locked);
    CHECK(lh.ack_max_free(self));
    CHECK(lh.history().trackers.ack.get(self, 0) == 3);
    CHECK(lh.ack_map_min() == 2); // the other nodes have not acknowledged
}

TEST_CASE("the digest changes with the trackers and the staging", "[layout][helper]")
{
    layout::layout_helper lh(3, consistency_mode::consistent, two_versions());
    auto const d0 = lh.digest();
    CHECK(d0.current_version == 2);
    CHECK(d0.active_versions == 2);
    lh.sync_until(layout_node(0), 2);
    auto const d1 = lh.digest();
    CHECK(d1.trackers_hash != d0.trackers_hash);
    CHECK(d1.staging_hash == d0.staging_hash);
    lh.update(
        [](layout::layout_history& hist) { return static_cast<bool>(hist.stage_remove(layout_node(3))); });
    CHECK(lh.digest().staging_hash != d1.staging_hash);
    CHECK_FALSE(lh.update([](layout::layout_history&) { return false; }));
}

} // namespace
