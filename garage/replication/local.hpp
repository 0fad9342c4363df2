#pragma once
/** @file
    The `local` replication policy: everything on this one node.
*/

#include <garage/replication/concepts.hpp>

#include <array>

namespace garage::replication {

/** Every partition is stored, read and written on this node alone.

    For embedded use, tests and examples: a @ref garage::table::table with this policy is a
    single-process CRDT store with the same Merkle trees, insert queue and tombstone GC as a
    replicated one, so it can later be switched to `sharded` or `full_copy` unchanged.

    @par Thread Safety
    Immutable: safe.
*/
class local {
public:
    /// A node without a cluster identity (its id is all zero).
    constexpr local() noexcept = default;
    /** @param self The id of this node. */
    constexpr explicit local(util::node_id self) noexcept : self_(self) {}

    /// @return This node's id, as given to the constructor.
    util::node_id local_node() const noexcept { return self_; }
    /// @return `{local_node()}`, whatever the hash.
    std::array<util::node_id, 1> storage_nodes(util::hash32 const&) const noexcept { return {self_}; }
    /// @return `{local_node()}`, whatever the hash.
    std::array<util::node_id, 1> read_nodes(util::hash32 const&) const noexcept { return {self_}; }
    /// @return 1.
    std::size_t read_quorum() const noexcept { return 1; }
    /// @return One write set, `{local_node()}`, whatever the hash.
    std::array<std::array<util::node_id, 1>, 1> write_sets(util::hash32 const&) const noexcept
    {
        return {{{self_}}};
    }
    /// @return 1.
    std::size_t write_quorum() const noexcept { return 1; }
    /// A single partition, as Garage's full-copy tables have. @return 0, whatever the hash.
    partition_id partition_of(util::hash32 const&) const noexcept { return 0; }
    /// @return Layout version 0, one partition covering the whole hash space, on this node.
    sync_partition_set sync_partitions() const
    {
        return {0, {sync_partition{0, util::hash32{}, util::hash32{}, {self_}}}};
    }

private:
    util::node_id self_;
};

static_assert(replication_policy<local>);

} // namespace garage::replication
