#pragma once
/** @file
    The replication-policy concept: which nodes store, read and write a partition.

    A policy is a value stored in each @ref garage::table::table. Garage's `TableReplication`
    trait becomes this concept; its models are @ref garage::replication::local (one process),
    @ref garage::replication::sharded and @ref garage::replication::full_copy (over the cluster
    layout). See docs/concepts/replication.md.
*/

#include <garage/util/bytes32.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <vector>

/** The `replication` layer: the @ref garage::replication::replication_policy concept (which
    nodes store, read and write a partition) and its models @ref garage::replication::local,
    @ref garage::replication::sharded and @ref garage::replication::full_copy. Bazel target
    `//garage/replication` (the concept and `local`) and `//garage/replication:cluster`
    (`sharded` and `full_copy`, over `//garage/layout`); see docs/concepts/replication.md.
*/
namespace garage::replication {

/// A partition number: the top bits of a partition-key hash (256 partitions in a layout).
using partition_id = std::uint16_t;

/** One range of the hash space that is synchronised as a unit, with the nodes that store it.

    `first_hash` is inclusive and `last_hash` exclusive, except that an all-zero `last_hash`
    means the end of the hash space.
*/
struct sync_partition {
    partition_id partition = 0;               ///< the partition (the Merkle tree to compare)
    util::hash32 first_hash;                  ///< first partition-key hash of the range (inclusive)
    util::hash32 last_hash;                   ///< end of the range (exclusive; all zero: the end)
    std::vector<util::node_id> storage_nodes; ///< the nodes to synchronise it with
};

/// The partitions a node must synchronise, for one layout version.
struct sync_partition_set {
    std::uint64_t layout_version = 0;       ///< the layout version they were computed from
    std::vector<sync_partition> partitions; ///< the partitions, in hash order
};

/// A forward range of node ids.
template <class R>
concept node_range =
    std::ranges::forward_range<R> && std::same_as<std::ranges::range_value_t<R>, util::node_id>;

/** A replication policy.

    | expression | type | meaning |
    |---|---|---|
    | `r.local_node()` | `util::node_id` | this node |
    | `r.storage_nodes(h)` | @ref garage::replication::node_range | every node that stores hash `h` |
    | `r.read_nodes(h)` | @ref garage::replication::node_range | nodes to read `h` from, best first |
    | `r.read_quorum()` | `std::size_t` | answers a read waits for |
    | `r.write_sets(h)` | forward range of @ref garage::replication::node_range | one per live layout |
    | `r.write_quorum()` | `std::size_t` | acknowledgements a write waits for in each set |
    | `r.partition_of(h)` | @ref garage::replication::partition_id | the partition (Merkle tree) of `h` |
    | `r.sync_partitions()` | @ref garage::replication::sync_partition_set | what this node synchronises |

    `r` is an `R const&` and `h` a `util::hash32 const&` (the partition hash of a key).
    See docs/concepts/replication.md for the rules every model follows.
*/
template <class R>
concept replication_policy = std::copy_constructible<R> && requires(R const& r, util::hash32 const& h)
{
    {
        r.local_node()
        } -> std::same_as<util::node_id>;
    {
        r.storage_nodes(h)
        } -> node_range;
    {
        r.read_nodes(h)
        } -> node_range;
    {
        r.read_quorum()
        } -> std::same_as<std::size_t>;
    {
        r.write_sets(h)
        } -> std::ranges::forward_range;
    requires node_range<std::ranges::range_value_t<decltype(r.write_sets(h))>>;
    {
        r.write_quorum()
        } -> std::same_as<std::size_t>;
    {
        r.partition_of(h)
        } -> std::same_as<partition_id>;
    {
        r.sync_partitions()
        } -> std::same_as<sync_partition_set>;
};

} // namespace garage::replication
