#pragma once
/** @file
    The history of layout versions, with the trackers of the transition between them and the
    staged changes (Garage `LayoutHistory`, reference §5.6).
*/

#include <garage/crdt/lww.hpp>
#include <garage/layout/role.hpp>
#include <garage/layout/staging.hpp>
#include <garage/layout/version.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/map.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace garage::layout {

/** For each node, the highest layout version it reached in some respect; merged by maximum.

    A node absent from the map counts as being at the oldest live version (`min_version`).
*/
struct update_tracker {
    std::map<util::node_id, std::uint64_t> values; ///< node → version

    /** Raises the value of a node (never lowers it).
        @param node  The node.
        @param value The version it reached.
        @return True when the tracker changed. */
    bool set_max(util::node_id const& node, std::uint64_t value);

    /** @param node        A node.
        @param min_version The value of an absent node.
        @return The node's value, or `min_version`. */
    std::uint64_t get(util::node_id const& node, std::uint64_t min_version) const;

    /** @param nodes       The nodes to consider.
        @param min_version The value of an absent node, and the result when `nodes` is empty.
        @return The smallest value among `nodes`. */
    std::uint64_t min_among(std::span<util::node_id const> nodes, std::uint64_t min_version) const;

    /** Merges another tracker: per node, the maximum.
        @param other The tracker to merge in.
        @return True when this tracker changed. */
    bool merge(update_tracker const& other);

    /// Equal when the maps are equal.
    friend bool operator==(update_tracker const&, update_tracker const&) = default;

    /** cereal: the map.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("values", values));
    }
};

/** The three trackers of a layout transition.

    - `ack`: the newest version a node has acknowledged, i.e. it no longer runs writes that
      ignore that version;
    - `sync`: the newest version for which a node has finished synchronising its data;
    - `sync_ack`: the newest version a node knows every storage node has synchronised.
*/
struct update_trackers {
    update_tracker ack;      ///< versions acknowledged
    update_tracker sync;     ///< versions synchronised
    update_tracker sync_ack; ///< versions known to be synchronised everywhere

    /** Merges all three trackers. @param other The trackers to merge in.
        @return True when something changed. */
    bool merge(update_trackers const& other);

    /// Equal when the three trackers are equal.
    friend bool operator==(update_trackers const&, update_trackers const&) = default;

    /** cereal: ack, sync, sync_ack.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("ack", ack), cereal::make_nvp("sync", sync),
           cereal::make_nvp("sync_ack", sync_ack));
    }
};

/** What `garage layout assign` asks for one or more nodes.

    For a node that already has a role (current or staged), absent fields keep their value.
    A new node needs a zone and either a capacity or `gateway`.
*/
struct assign_options {
    std::optional<std::string> zone;              ///< `-z`
    std::optional<std::uint64_t> capacity;        ///< `-c`, bytes
    bool gateway = false;                         ///< `-g`
    std::optional<std::vector<std::string>> tags; ///< `-t` (absent: keep)
    std::vector<util::node_id> replace;           ///< `--replace`: nodes whose role is removed
};

/** The outcome of merging a history received from another node. */
struct merge_outcome {
    bool changed = false;                             ///< whether this history changed
    std::vector<std::uint64_t> inconsistent_versions; ///< versions both hold with different contents
};

/** The layout history: the live versions, a few old ones, the trackers and the staging.

    `versions` holds the *live* versions, oldest first: data may still be found in all of them
    and writes go to the nodes of each. The last one is the current version. A version leaves
    `versions` for `old_versions` once every node of the current version has acknowledged
    (`sync_ack`) that all storage nodes synchronised past it. This structure is gossiped
    between nodes and merged (@ref merge), and persisted in `metadata_dir`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    auto h = layout::layout_history::make(3);
    h.stage_assign(a, {.zone = "dc1", .capacity = 1'000'000'000}).value();
    // ... b in dc2, c in dc3
    auto msg = h.apply_staged_changes(1); // version 1 computed, report in *msg
    @endcode
*/
struct layout_history {
    std::vector<layout_version> versions;     ///< live versions, oldest first; never empty
    std::vector<layout_version> old_versions; ///< at most 5 versions no longer live
    update_trackers trackers;                 ///< the transition trackers
    crdt::lww<layout_staging> staging;        ///< the changes staged for the next version

    /** The history of a new cluster: version 0, empty, staging with maximum zone redundancy.
        @param replication_factor Copies of each partition.
        @return The history. */
    static layout_history make(std::size_t replication_factor);

    /// @return The newest version.
    layout_version const& current() const noexcept { return versions.back(); }

    /// @return The number of the oldest live version.
    std::uint64_t min_stored() const noexcept { return versions.front().version; }

    /// @return Every node with a role in a live version (sorted, no duplicates).
    std::vector<util::node_id> all_nodes() const;

    /// @return Every storage node of a live version (sorted, no duplicates).
    std::vector<util::node_id> all_storage_nodes() const;

    /// @return The roles of the current version with the staged changes merged in.
    crdt::lww_map<util::node_id, role_value> planned_roles() const;

    // ---- staging ----

    /** Stages roles for nodes, as `garage layout assign` does.
        @param nodes The nodes.
        @param opts  The options.
        @return Nothing; `error::invalid_role` (capacity 0, capacity with gateway, a new node
        without zone or without capacity) or `error::unknown_node` (a `replace` node without
        role). Nothing is staged on error. */
    util::result<void> stage_assign(std::span<util::node_id const> nodes, assign_options const& opts);

    /** Stages the role of one node, as `garage layout assign` does.
        @param node The node.
        @param opts The options.
        @return As the overload for several nodes. */
    util::result<void> stage_assign(util::node_id const& node, assign_options const& opts)
    {
        return stage_assign(std::span<util::node_id const>(&node, 1), opts);
    }

    /** Stages the removal of a node's role.
        @param node The node.
        @return Nothing, or `error::unknown_node` when it has no planned role. */
    util::result<void> stage_remove(util::node_id const& node);

    /** Stages the zone redundancy, as `garage layout config -r` does.
        @param z The parameter.
        @return Nothing, or `error::invalid_parameter` when `at_least(n)` with n = 0 or n > rf. */
    util::result<void> stage_zone_redundancy(zone_redundancy z);

    /// @return True when role changes or parameters other than the current ones are staged.
    bool has_staged_changes() const;

    /** Computes the next version without applying it (`garage layout show`).
        @return The version and the report, or the refusal. */
    util::result<std::pair<layout_version, report>> preview() const;

    /** Applies the staged changes: computes version current + 1, appends it, clears the
        staged roles (keeping the staged parameters).
        @param version The version number the operator expects: must be current + 1.
        @return The report; `error::missing_version`, `error::stale_version`, or the refusals
        of the assignment. Nothing changes on error. */
    util::result<report> apply_staged_changes(std::optional<std::uint64_t> version);

    /** Drops the staged changes: no role change, the current parameters. */
    void revert_staged_changes();

    // ---- transitions ----

    /** Merges a history received from another node (the gossip of the layout).

        If our current version is older than their oldest live one we take theirs whole.
        Otherwise versions that follow our current one are appended in order, trackers merge
        by maximum and the staging by LWW. A version both hold with different contents is
        reported in `inconsistent_versions` (and ours kept).
        @param other The history received.
        @return Whether this history changed, and any inconsistency. */
    merge_outcome merge(layout_history const& other);

    /** Forces the trackers past dead nodes (`garage layout skip-dead-nodes`).

        For each node with a role in a live version: its `ack` is raised to `version` when it
        is down or `allow_missing_data`; its `sync` too when `allow_missing_data`.
        @param version            The version to assume reached; in (min_stored, current].
        @param is_up              Whether a node is up.
        @param allow_missing_data Also raise `ack` of live nodes and `sync` of all nodes.
        @return One line per raised tracker; `error::invalid_parameter` when only one version
        is live or `version` is out of range; `error::nothing_to_do` when nothing changed. */
    util::result<std::vector<std::string>>
    skip_dead_nodes(std::uint64_t version, std::function<bool(util::node_id const&)> const& is_up,
                    bool allow_missing_data);

    /** Keeps only the current version live (the other live ones become old versions). */
    void keep_current_version_only();

    /** Drops invalid versions that precede a valid current one, moves to `old_versions` the
        versions every node of the current version has passed in `sync_ack`, and keeps at
        most 5 old versions. */
    void cleanup_old_versions();

    /** Raises the three trackers of `nodes` to at least the oldest live version.
        @param nodes The nodes. */
    void clamp_update_trackers(std::span<util::node_id const> nodes);

    /** The oldest version that reads must use to stay consistent: for each partition and
        each live version except the current one, the highest version a write quorum of its
        nodes has synchronised; the minimum of these.
        @param write_quorum        The write quorum (consistent mode) of the replication factor.
        @param all_storage_nodes   Every storage node of a live version.
        @return A live version number. */
    std::uint64_t sync_map_min_with_quorum(std::size_t write_quorum,
                                           std::span<util::node_id const> all_storage_nodes) const;

    /** @return The check of the current version. */
    util::result<void> check() const { return current().check(); }

    /// Equal when every field is equal.
    friend bool operator==(layout_history const&, layout_history const&) = default;

    /** cereal: a format version (1), then the fields.
        @param ar A cereal archive.
        @throws cereal::Exception for an unknown format version or an empty version list. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t format = 1;
        ar(cereal::make_nvp("format", format));
        if (format != 1) {
            throw cereal::Exception("unknown layout_history format " + std::to_string(format));
        }
        ar(cereal::make_nvp("versions", versions), cereal::make_nvp("old_versions", old_versions),
           cereal::make_nvp("trackers", trackers), cereal::make_nvp("staging", staging));
        if (Archive::is_loading::value && versions.empty()) {
            throw cereal::Exception("layout_history without any version");
        }
    }
};

} // namespace garage::layout
