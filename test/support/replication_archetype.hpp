#pragma once
// The minimal model of garage::replication::replication_policy.

#include <garage/replication/concepts.hpp>

#include <vector>

namespace garage::test {

struct replication_archetype {
    util::node_id local_node() const { return {}; }
    std::vector<util::node_id> storage_nodes(util::hash32 const&) const { return {}; }
    std::vector<util::node_id> read_nodes(util::hash32 const&) const { return {}; }
    std::size_t read_quorum() const { return 1; }
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const&) const { return {}; }
    std::size_t write_quorum() const { return 1; }
    replication::partition_id partition_of(util::hash32 const&) const { return 0; }
    replication::sync_partition_set sync_partitions() const { return {}; }
};

} // namespace garage::test
