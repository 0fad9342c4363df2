#pragma once
/** @file
    One version of the cluster layout: the roles, the parameters and the assignment of the
    256 partitions to storage nodes (Garage `LayoutVersion`, reference §5.6).
*/

#include <garage/crdt/lww_map.hpp>
#include <garage/layout/role.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace garage::layout {

struct layout_staging;

/** The report of an assignment computation, one line per element (Garage's `Message`). */
using report = std::vector<std::string>;

/** One version of the cluster layout.

    `node_ids` lists every node with a role, the `storage_node_count` storage nodes first (in
    increasing id order), then the gateways. `ring` holds, for each partition in order,
    `replication_factor` indices into `node_ids` (hence the limit of 256 storage nodes).
    A version is *ready* when `ring` has 256 × rf entries; version 0 of a new cluster is not.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for reads.
*/
struct layout_version {
    std::uint64_t version = 0;                      ///< the version number, 0 for an empty layout
    crdt::lww_map<util::node_id, role_value> roles; ///< the roles (only nodes with a role)
    layout_parameters parameters;                   ///< the parameters of the assignment
    std::size_t replication_factor = 0;             ///< copies of each partition
    std::uint64_t partition_size = 0;               ///< bytes per partition copy, as computed
    std::vector<util::node_id> node_ids;            ///< nodes with a role, storage nodes first
    std::size_t storage_node_count = 0;             ///< how many of `node_ids` store data
    std::vector<std::uint8_t> ring;                 ///< 256 × rf indices into `node_ids`

    /** An empty layout (version 0, no role, no assignment).
        @param replication_factor The number of copies of each partition.
        @return The layout. */
    static layout_version make_empty(std::size_t replication_factor);

    /// @return True when every partition has its `replication_factor` nodes.
    bool is_ready() const noexcept
    {
        return replication_factor > 0 && ring.size() == partition_count * replication_factor;
    }

    /// @return Every node with a role, storage nodes first.
    std::vector<util::node_id> const& all_nodes() const noexcept { return node_ids; }

    /// @return The storage nodes (those with a capacity).
    std::vector<util::node_id> storage_nodes() const
    {
        return {node_ids.begin(), node_ids.begin() + static_cast<std::ptrdiff_t>(storage_node_count)};
    }

    /** @param node A node.
        @return Its role in this version, or null. */
    node_role const* role_of(util::node_id const& node) const;

    /** The nodes that store a partition.
        @param p A partition below 256.
        @return Its `replication_factor` nodes, or nothing when the layout is not ready. */
    std::vector<util::node_id> nodes_of(partition_id p) const;

    /** The nodes that store a hash.
        @param h A partition-key hash.
        @return The nodes of `partition_of(h)`. */
    std::vector<util::node_id> nodes_of(util::hash32 const& h) const { return nodes_of(partition_of(h)); }

    /** How many partitions a node stores.
        @param node A node.
        @return The count, 0 for a gateway or a node without a role. */
    std::size_t partitions_of_node(util::node_id const& node) const;

    /// @return The number of distinct zones of the storage nodes.
    std::size_t storage_zone_count() const;

    /// @return The zone redundancy in force: `at_least(n)` gives n; `maximum()` gives min(zones, rf).
    std::size_t effective_zone_redundancy() const;

    /** Checks the internal consistency: node list, ring length and indices, rf distinct
        storage nodes per partition spanning the zone redundancy, and capacities
        (partitions × partition size ≤ capacity).
        @return Nothing, or `error::invalid_layout` saying what is wrong. */
    util::result<void> check() const;

    /** Checks that `partition_size` is the optimum for these roles (a full computation).
        @return Nothing, or `error::invalid_layout`. */
    util::result<void> check_optimal() const;

    /** The next version: staged roles and parameters applied, the assignment recomputed.
        @param staging The staged changes.
        @return The new version (number + 1) and the report of the computation; or the
        refusals of the assignment (too few nodes or zones, insufficient capacity). */
    util::result<std::pair<layout_version, report>> next_version(layout_staging const& staging) const;

    /** Recomputes the assignment from `roles` and `parameters`, starting from the current
        `ring` (renumbered) if any, and writes `node_ids`, `ring` and `partition_size`.
        @return The report; or the refusals of the assignment, leaving this object unchanged. */
    util::result<report> compute_assignment();

    /// Equal when every field is equal.
    friend bool operator==(layout_version const&, layout_version const&) = default;

    /** cereal: a format version (1), then the fields.
        @param ar A cereal archive.
        @throws cereal::Exception when loading an unknown format version. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t format = 1;
        ar(cereal::make_nvp("format", format));
        if (format != 1) {
            throw cereal::Exception("unknown layout_version format " + std::to_string(format));
        }
        std::uint64_t rf = replication_factor;
        std::uint64_t storage = storage_node_count;
        ar(cereal::make_nvp("version", version), cereal::make_nvp("roles", roles),
           cereal::make_nvp("parameters", parameters), cereal::make_nvp("replication_factor", rf),
           cereal::make_nvp("partition_size", partition_size), cereal::make_nvp("node_ids", node_ids),
           cereal::make_nvp("storage_node_count", storage), cereal::make_nvp("ring", ring));
        replication_factor = static_cast<std::size_t>(rf);
        storage_node_count = static_cast<std::size_t>(storage);
    }
};

} // namespace garage::layout
