// Test that header file is self-contained.
#include <garage/replication/local.hpp>

#include <test/support/replication_archetype.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

struct missing_quorum {
    util::node_id local_node() const { return {}; }
    std::vector<util::node_id> storage_nodes(util::hash32 const&) const { return {}; }
    std::vector<util::node_id> read_nodes(util::hash32 const&) const { return {}; }
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const&) const { return {}; }
    std::size_t write_quorum() const { return 1; }
    replication::partition_id partition_of(util::hash32 const&) const { return 0; }
    replication::sync_partition_set sync_partitions() const { return {}; }
};
struct wrong_node_type {
    util::node_id local_node() const { return {}; }
    std::vector<int> storage_nodes(util::hash32 const&) const { return {}; }
    std::vector<int> read_nodes(util::hash32 const&) const { return {}; }
    std::size_t read_quorum() const { return 1; }
    std::vector<std::vector<int>> write_sets(util::hash32 const&) const { return {}; }
    std::size_t write_quorum() const { return 1; }
    replication::partition_id partition_of(util::hash32 const&) const { return 0; }
    replication::sync_partition_set sync_partitions() const { return {}; }
};

static_assert(replication::replication_policy<test::replication_archetype>);
static_assert(replication::replication_policy<replication::local>);
static_assert(!replication::replication_policy<missing_quorum>, "a policy without read_quorum() is rejected");
static_assert(!replication::replication_policy<wrong_node_type>, "node sets must be ranges of node_id");
static_assert(!replication::replication_policy<int>);

TEST_CASE("local replication keeps everything on this node", "[replication][local]")
{
    auto self = util::node_id(util::gen_uuid().array());
    replication::local r(self);
    auto h = util::hash32(util::gen_uuid().array());
    CHECK(r.local_node() == self);
    REQUIRE(r.storage_nodes(h).size() == 1);
    CHECK(r.storage_nodes(h)[0] == self);
    CHECK(r.read_nodes(h)[0] == self);
    CHECK(r.read_quorum() == 1);
    CHECK(r.write_quorum() == 1);
    auto sets = r.write_sets(h);
    REQUIRE(sets.size() == 1);
    CHECK(sets[0][0] == self);
    CHECK(r.partition_of(h) == 0);
    auto sp = r.sync_partitions();
    REQUIRE(sp.partitions.size() == 1);
    CHECK(sp.partitions[0].storage_nodes == std::vector<util::node_id>{self});
}
} // namespace
