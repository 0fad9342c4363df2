#pragma once
/** @file
    The optimal assignment of partitions to storage nodes (reference §5.6), as a pure function
    of node capacities and zones, the replication factor, the zone redundancy and the previous
    assignment.

    The algorithm, in Garage's terms:

    1. The largest *partition size* s is found by binary search: s is feasible when a flow
       graph source → partition → (partition, zone) → node → sink carries 256 × rf units,
       where the source gives each partition `redundancy` units that must go to distinct zones
       (one unit per (partition, zone)) and `rf − redundancy` units that may go to any zone,
       each (partition, zone) gives at most one unit to each node of the zone (distinct
       nodes), and node n takes at most ⌊capacity(n) / s⌋ units. Feasibility decreases with s,
       so the binary search finds the maximum. Maximum flows are Boost.Graph's
       `push_relabel_max_flow`.
    2. At that size, among all valid assignments, the one that keeps the most (partition,
       node) pairs of the previous assignment: a *minimum-cost* maximum flow where keeping a
       pair costs 0 and a new pair costs 1. It starts from the maximum flow that uses only
       previous pairs (cost 0, hence optimal for its value), then augments along shortest
       paths of the residual graph (successive shortest paths, Dijkstra with potentials),
       which keeps the flow of minimum cost at every value. The result moves provably as few
       partition copies as possible; Garage reaches the same optimum by cancelling negative
       cycles (bounded Bellman-Ford).
*/

#include <garage/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace garage::layout {

/// A storage node as the assignment sees it.
struct assignment_node {
    std::uint64_t capacity = 0; ///< bytes, positive
    std::size_t zone = 0;       ///< zone index, below `assignment_problem::zone_count`
};

/** The input of the assignment computation.

    Node and zone indices are positions in `nodes` and below `zone_count`; every zone index
    in `0 .. zone_count` must hold at least one node.
*/
struct assignment_problem {
    std::vector<assignment_node> nodes; ///< the storage nodes
    std::size_t zone_count = 0;         ///< the number of zones
    std::size_t replication_factor = 0; ///< copies of each partition
    std::size_t zone_redundancy = 0;    ///< distinct zones each partition must span (effective value)
    /// For each of the 256 partitions, the indices of the nodes that stored it before and
    /// still have a role; empty when there is no previous assignment.
    std::vector<std::vector<std::size_t>> previous;
};

/// The output of the assignment computation.
struct assignment {
    std::uint64_t partition_size = 0; ///< the largest feasible partition size, bytes
    /// For each of the 256 partitions, `replication_factor` distinct node indices: the nodes
    /// that kept the partition first (in their previous order), then the new ones.
    std::vector<std::vector<std::size_t>> partitions;
    /// The number of (partition, node) pairs not in the previous assignment: copies to
    /// transfer (every copy when there is no previous assignment).
    std::size_t moves = 0;
};

/** Checks the problem: enough nodes, enough zones, positive capacities, valid indices.
    @param problem The problem.
    @return Nothing, or `error::too_few_nodes`, `error::too_few_zones`,
    `error::too_many_nodes`, `error::invalid_role` or `error::invalid_parameter`. */
util::result<void> validate(assignment_problem const& problem);

/** Whether partitions of `partition_size` bytes can all be placed.
    @param problem        A valid problem.
    @param partition_size Bytes, at least 1.
    @return True when a valid assignment exists with at most ⌊capacity / size⌋ partitions per node. */
bool partition_size_feasible(assignment_problem const& problem, std::uint64_t partition_size);

/** The largest feasible partition size.
    @param problem The problem.
    @return The size, or the error of @ref validate, or `error::insufficient_capacity` when
    not even partitions of 1 byte can be placed. */
util::result<std::uint64_t> optimal_partition_size(assignment_problem const& problem);

/** Computes the optimal assignment: the largest partition size, then the fewest moves.
    @param problem The problem.
    @return The assignment, or the errors of @ref optimal_partition_size. */
util::result<assignment> compute_assignment(assignment_problem const& problem);

} // namespace garage::layout
