#pragma once
/** @file
    The `sharded` replication policy: each partition on the replication factor's nodes of the
    cluster layout (Garage `TableShardedReplication`).
*/

#include <garage/layout/source.hpp>
#include <garage/replication/concepts.hpp>

#include <cstddef>
#include <vector>

namespace garage::replication {

/** Dynamo-style replication over the cluster layout: objects, versions, block references.

    Reads the layout through a @ref garage::layout::layout_source (the node's
    @ref garage::layout::layout_manager, or a static layout in tests): each call takes the
    current snapshot, so a table follows layout changes without being rebuilt.

    - storage nodes of a hash: the union of its nodes over the live layout versions (sorted);
    - read nodes: its nodes in the version reads are directed to (`sync_map_min`), in the
      source's order of preference (self, same zone, lowest latency);
    - write sets: its nodes in each live version, oldest first;
    - quorums: from the configured replication factor and consistency mode (reference §5.5):
      read ⌈rf/2⌉ (`consistent`) or 1; write rf + 1 − ⌈rf/2⌉ (`consistent`, `degraded`) or 1;
    - partition: the top 8 bits of the hash (256 partitions);
    - sync partitions: the 256 hash ranges, each with its storage nodes, for the version
      every node has acknowledged (`ack_map_min`).

    A layout that is not ready yet (a new cluster) has no storage node for any hash.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (the source's snapshots are immutable).
    The source must outlive every copy of the policy.

    @par Example
    @code
    replication::sharded policy(layout_manager);     // or a static_layout_source
    auto sets = policy.write_sets(hash);             // one set per live layout version
    @endcode
*/
class sharded {
public:
    /** @param source The cluster layout (not owned; must outlive the policy and its copies). */
    explicit sharded(layout::layout_source const& source) noexcept : source_(&source) {}

    /// @return This node's id.
    util::node_id local_node() const { return source_->local_node(); }
    /** @param h A partition-key hash.
        @return Its nodes in every live version, sorted, without duplicates. */
    std::vector<util::node_id> storage_nodes(util::hash32 const& h) const
    {
        return source_->snapshot()->storage_nodes_of(h);
    }
    /** @param h A partition-key hash.
        @return Its nodes in the version reads use, best first. */
    std::vector<util::node_id> read_nodes(util::hash32 const& h) const
    {
        return source_->preferred_order(source_->snapshot()->read_nodes_of(h));
    }
    /// @return ⌈rf/2⌉ in `consistent` mode, 1 otherwise.
    std::size_t read_quorum() const
    {
        return layout::read_quorum(source_->replication_factor(), source_->consistency_mode());
    }
    /** @param h A partition-key hash.
        @return Its nodes in each live version, oldest first. */
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const& h) const
    {
        return source_->snapshot()->write_sets_of(h);
    }
    /// @return rf + 1 − ⌈rf/2⌉, or 1 in `dangerous` mode.
    std::size_t write_quorum() const
    {
        return layout::write_quorum(source_->replication_factor(), source_->consistency_mode());
    }
    /** @param h A partition-key hash. @return Its first byte. */
    partition_id partition_of(util::hash32 const& h) const noexcept { return layout::partition_of(h); }
    /** @return The 256 ranges `[first_hash_of(p), first_hash_of(p + 1))` (the last one ends
        at the end of the hash space), each with its storage nodes; the layout version is
        `ack_map_min()`. A syncer skips the ranges this node does not store. */
    sync_partition_set sync_partitions() const;

private:
    layout::layout_source const* source_;
};

static_assert(replication_policy<sharded>);

} // namespace garage::replication
