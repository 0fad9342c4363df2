// Test that header file is self-contained.
#include <garage/replication/sharded.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace {
using namespace garage;
using util::consistency_mode;

constexpr std::uint64_t gb = 1'000'000'000;

util::node_id node(std::size_t i)
{
    util::node_id id;
    id[0] = static_cast<std::uint8_t>(i + 1);
    id[31] = 0x5A;
    return id;
}

/// Stages node i in zones[i] with 1 GB each, or capacities[i] when given.
void stage(layout::layout_history& h, std::vector<std::string> const& zones, std::size_t from = 0,
           std::vector<std::uint64_t> const& capacities = {})
{
    for (std::size_t i = from; i < zones.size(); ++i) {
        layout::assign_options o;
        o.zone = zones[i];
        o.capacity = i < capacities.size() ? capacities[i] : gb;
        h.stage_assign(node(i), o).value();
    }
}

layout::layout_history applied(std::vector<std::string> const& zones,
                               std::vector<std::uint64_t> const& capacities = {})
{
    auto h = layout::layout_history::make(3);
    stage(h, zones, 0, capacities);
    h.apply_staged_changes(1).value();
    return h;
}

util::hash32 hash_in(layout::partition_id p, std::uint8_t tail = 7)
{
    auto h = layout::first_hash_of(p);
    h[31] = tail;
    return h;
}

/// A source whose preferred order puts the largest id first.
class reversed_source final : public layout::layout_source {
public:
    explicit reversed_source(layout::layout_history h)
        : snap_(std::make_shared<layout::layout_helper const>(3, consistency_mode::consistent, std::move(h)))
    {
    }
    std::shared_ptr<layout::layout_helper const> snapshot() const override { return snap_; }
    util::node_id local_node() const override { return node(0); }
    std::size_t replication_factor() const override { return 3; }
    util::consistency_mode consistency_mode() const override { return consistency_mode::consistent; }
    std::vector<util::node_id> preferred_order(std::vector<util::node_id> nodes) const override
    {
        std::sort(nodes.rbegin(), nodes.rend());
        return nodes;
    }

private:
    std::shared_ptr<layout::layout_helper const> snap_;
};

static_assert(replication::replication_policy<replication::sharded>);
static_assert(std::copy_constructible<replication::sharded>);

TEST_CASE("sharded over 3 nodes with rf 3 stores every partition on all three", "[replication][sharded]")
{
    layout::static_layout_source src(node(1), 3, consistency_mode::consistent,
                                     applied({"dc1", "dc2", "dc3"}));
    replication::sharded const r(src);
    auto const copy = r; // a cheap value
    CHECK(copy.local_node() == node(1));
    CHECK(r.read_quorum() == 2);
    CHECK(r.write_quorum() == 2);
    std::vector<util::node_id> const all{node(0), node(1), node(2)};
    for (layout::partition_id p : {0, 1, 100, 255}) {
        auto const h = hash_in(p);
        CHECK(r.partition_of(h) == p);
        CHECK(r.storage_nodes(h) == all);
        auto read = r.read_nodes(h);
        CHECK(read.size() == 3);
        CHECK(read.front() == node(1)); // self first
        std::sort(read.begin(), read.end());
        CHECK(read == all);
        auto const sets = r.write_sets(h);
        REQUIRE(sets.size() == 1);
        auto set = sets[0];
        std::sort(set.begin(), set.end());
        CHECK(set == all);
    }
    auto const sp = r.sync_partitions();
    CHECK(sp.layout_version == 1);
    REQUIRE(sp.partitions.size() == 256);
    for (std::size_t p = 0; p < 256; ++p) {
        CHECK(sp.partitions[p].partition == p);
        CHECK(sp.partitions[p].first_hash == layout::first_hash_of(static_cast<layout::partition_id>(p)));
        if (p + 1 < 256) {
            CHECK(sp.partitions[p].last_hash == sp.partitions[p + 1].first_hash);
        } else {
            CHECK(sp.partitions[p].last_hash == util::hash32{});
        }
        CHECK(sp.partitions[p].storage_nodes == all);
    }
}

TEST_CASE("sharded over 5 nodes in 3 zones puts each partition's 3 copies in 3 zones",
          "[replication][sharded]")
{
    // dc3's single node is as large as each of the two-node zones: all five nodes are needed.
    std::vector<std::string> const zones{"dc1", "dc1", "dc2", "dc2", "dc3"};
    layout::static_layout_source src(node(0), 3, consistency_mode::consistent,
                                     applied(zones, {gb, gb, gb, gb, 2 * gb}));
    replication::sharded const r(src);
    auto const sp = r.sync_partitions();
    std::set<util::node_id> used;
    for (std::size_t p = 0; p < 256; ++p) {
        auto const h = hash_in(static_cast<layout::partition_id>(p), 200);
        auto const nodes = r.storage_nodes(h);
        REQUIRE(nodes.size() == 3);
        std::set<std::string> zs;
        for (auto const& n : nodes) {
            zs.insert(zones[n[0] - 1]);
            used.insert(n);
        }
        CHECK(zs.size() == 3);
        CHECK(sp.partitions[p].storage_nodes == nodes);
        auto read = r.read_nodes(h);
        std::sort(read.begin(), read.end());
        CHECK(read == nodes);
        auto const sets = r.write_sets(h);
        REQUIRE(sets.size() == 1);
        auto set = sets[0];
        std::sort(set.begin(), set.end());
        CHECK(set == nodes);
    }
    CHECK(used.size() == 5);
}

TEST_CASE("during a transition sharded writes to both versions and reads from the synced one",
          "[replication][sharded]")
{
    auto h = applied({"dc1", "dc2", "dc3"});
    stage(h, {"dc1", "dc2", "dc3", "dc4"}, 3);
    h.apply_staged_changes(2).value();
    layout::static_layout_source src(node(0), 3, consistency_mode::consistent, h);
    replication::sharded const r(src);
    REQUIRE(src.snapshot()->versions().size() == 2);

    // A partition that moved to node 3 in version 2.
    std::optional<util::hash32> moved;
    for (layout::partition_id p = 0; p < 256 && !moved; ++p) {
        auto const n = h.current().nodes_of(p);
        if (std::find(n.begin(), n.end(), node(3)) != n.end()) {
            moved = hash_in(p);
        }
    }
    REQUIRE(moved);
    auto const sets = r.write_sets(*moved);
    REQUIRE(sets.size() == 2);
    CHECK(sets[0] == h.versions[0].nodes_of(*moved));
    CHECK(sets[1] == h.versions[1].nodes_of(*moved));
    CHECK(r.storage_nodes(*moved).size() == 4); // the union
    auto read = r.read_nodes(*moved);
    std::sort(read.begin(), read.end());
    auto old = h.versions[0].nodes_of(*moved);
    std::sort(old.begin(), old.end());
    CHECK(read == old); // version 1 until the new one is synced
    auto const sp = r.sync_partitions();
    CHECK(sp.layout_version == 1); // not every node acknowledged version 2
    CHECK(sp.partitions[r.partition_of(*moved)].storage_nodes.size() == 4);

    // Once every node has synced version 2, reads move there, and the old version retires.
    for (std::size_t i = 0; i < 4; ++i) {
        h.trackers.ack.set_max(node(i), 2);
        h.trackers.sync.set_max(node(i), 2);
    }
    src.set(h);
    auto read2 = r.read_nodes(*moved);
    CHECK(read2 == h.versions[1].nodes_of(*moved));
    CHECK(r.sync_partitions().layout_version == 2);
    for (std::size_t i = 0; i < 4; ++i) {
        h.trackers.sync_ack.set_max(node(i), 2);
    }
    src.set(h);
    CHECK(r.write_sets(*moved).size() == 1);
    CHECK(r.storage_nodes(*moved).size() == 3);
}

TEST_CASE("sharded quorums follow the consistency mode", "[replication][sharded]")
{
    auto h = applied({"dc1", "dc2", "dc3"});
    stage(h, {"dc1", "dc2", "dc3", "dc4"}, 3);
    h.apply_staged_changes(2).value();
    layout::static_layout_source degraded(node(0), 3, consistency_mode::degraded, h);
    layout::static_layout_source dangerous(node(0), 3, consistency_mode::dangerous, h);
    replication::sharded const d(degraded);
    replication::sharded const x(dangerous);
    CHECK(d.read_quorum() == 1);
    CHECK(d.write_quorum() == 2);
    CHECK(x.read_quorum() == 1);
    CHECK(x.write_quorum() == 1);
    // Without consistency, only the current version is live.
    auto const any = hash_in(17);
    CHECK(d.write_sets(any).size() == 1);
    CHECK(d.write_sets(any)[0] == h.current().nodes_of(any));
    CHECK(x.read_nodes(any).size() == 3);

    layout::static_layout_source rf1(node(0), 1, consistency_mode::consistent,
                                     layout::layout_history::make(1));
    CHECK(replication::sharded(rf1).read_quorum() == 1);
    CHECK(replication::sharded(rf1).write_quorum() == 1);
}

TEST_CASE("sharded follows the source's preference and an unready layout has no nodes",
          "[replication][sharded]")
{
    reversed_source src(applied({"dc1", "dc2", "dc3"}));
    replication::sharded const r(src);
    auto const read = r.read_nodes(hash_in(3));
    CHECK(read == std::vector<util::node_id>{node(2), node(1), node(0)});

    layout::static_layout_source fresh(node(0), 3, consistency_mode::consistent,
                                       layout::layout_history::make(3));
    replication::sharded const f(fresh);
    CHECK(f.storage_nodes(hash_in(3)).empty());
    CHECK(f.read_nodes(hash_in(3)).empty());
    CHECK(f.sync_partitions().partitions.size() == 256);
    CHECK(f.sync_partitions().partitions[0].storage_nodes.empty());
}

} // namespace
