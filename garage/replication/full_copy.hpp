#pragma once
/** @file
    The `full_copy` replication policy: everything on every node of the cluster layout
    (Garage `TableFullReplication`).
*/

#include <garage/layout/source.hpp>
#include <garage/replication/concepts.hpp>

#include <array>
#include <cstddef>
#include <vector>

namespace garage::replication {

/** Every node of the current layout stores everything: buckets, keys, aliases.

    - storage nodes: every node with a role in the current layout version, gateways included;
    - reads are local: read nodes `{local_node()}`, read quorum 1;
    - one write set, the storage nodes, with a write quorum of n − 1 (1 when n ≤ 1): a write
      tolerates one node down;
    - one partition (0) and one sync partition covering the whole hash space.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe. The source must outlive every copy.

    @par Example
    @code
    replication::full_copy policy(layout_manager);
    @endcode
*/
class full_copy {
public:
    /** @param source The cluster layout (not owned; must outlive the policy and its copies). */
    explicit full_copy(layout::layout_source const& source) noexcept : source_(&source) {}

    /// @return This node's id.
    util::node_id local_node() const { return source_->local_node(); }
    /// @return Every node of the current layout version, whatever the hash.
    std::vector<util::node_id> storage_nodes(util::hash32 const&) const
    {
        return source_->snapshot()->current().all_nodes();
    }
    /// @return `{local_node()}`: reads are answered locally.
    std::array<util::node_id, 1> read_nodes(util::hash32 const&) const { return {source_->local_node()}; }
    /// @return 1.
    std::size_t read_quorum() const noexcept { return 1; }
    /** @param h A partition-key hash.
        @return One write set: the storage nodes. */
    std::array<std::vector<util::node_id>, 1> write_sets(util::hash32 const& h) const
    {
        return {storage_nodes(h)};
    }
    /// @return n − 1 for n > 1 nodes in the current layout, else 1.
    std::size_t write_quorum() const
    {
        auto const n = source_->snapshot()->current().all_nodes().size();
        return n > 1 ? n - 1 : 1;
    }
    /// @return 0, whatever the hash.
    partition_id partition_of(util::hash32 const&) const noexcept { return 0; }
    /// @return The current version, one partition covering every hash, on every node.
    sync_partition_set sync_partitions() const
    {
        auto const snap = source_->snapshot();
        return {snap->current().version,
                {sync_partition{0, util::hash32{}, util::hash32{}, snap->current().all_nodes()}}};
    }

private:
    layout::layout_source const* source_;
};

static_assert(replication_policy<full_copy>);

} // namespace garage::replication
