#pragma once
/** @file
    `layout_helper`: a layout history with the values that reads and writes need, computed
    once per change (Garage `LayoutHelper`): which nodes to read a partition from, the write
    sets across live versions, and the local node's tracker updates.
*/

#include <garage/layout/history.hpp>
#include <garage/layout/role.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace garage::layout {

/** A summary of a history, exchanged with peers to notice differences (Garage `RpcLayoutDigest`). */
struct layout_digest {
    std::uint64_t current_version = 0; ///< the current version number
    std::size_t active_versions = 0;   ///< how many versions are live
    util::hash32 trackers_hash;        ///< hash of the encoded trackers
    util::hash32 staging_hash;         ///< hash of the encoded staging

    /// Equal when all fields are equal.
    friend bool operator==(layout_digest const&, layout_digest const&) = default;

    /** cereal: the four fields.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("current_version", current_version),
           cereal::make_nvp("active_versions", active_versions),
           cereal::make_nvp("trackers_hash", trackers_hash), cereal::make_nvp("staging_hash", staging_hash));
    }
};

/** A layout history, normalised, with cached values for the replication layer.

    Construction (and every @ref update that changes the history) prunes versions that are
    no longer needed (all of them but the current one unless the mode is `consistent`),
    clamps the trackers of known nodes to the oldest live version, and computes:

    - `ack_map_min()`: the newest version every node of a live version has acknowledged;
    - `sync_map_min()`: the version reads use (the oldest one a write quorum of each
      partition's nodes may not have synchronised beyond; the current one when alone).

    It also counts in-flight writes per version (the *ack lock*): a node acknowledges the
    newest version no older write is still running on (@ref update_trackers_of).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe (the layout manager holds a lock).
*/
class layout_helper {
public:
    /** @param replication_factor The configured replication factor.
        @param mode               The configured consistency mode.
        @param history            The history; normalised here. */
    layout_helper(std::size_t replication_factor, util::consistency_mode mode, layout_history history);

    /// @return The history.
    layout_history const& history() const noexcept { return history_; }
    /// @return The current version.
    layout_version const& current() const noexcept { return history_.current(); }
    /// @return The live versions, oldest first.
    std::vector<layout_version> const& versions() const noexcept { return history_.versions; }
    /// @return Every node with a role in a live version.
    std::vector<util::node_id> const& all_nodes() const noexcept { return all_nodes_; }
    /// @return Every storage node of a live version.
    std::vector<util::node_id> const& all_storage_nodes() const noexcept { return all_storage_nodes_; }
    /// @return The newest version every node has acknowledged.
    std::uint64_t ack_map_min() const noexcept { return ack_map_min_; }
    /// @return The version reads are directed to.
    std::uint64_t sync_map_min() const noexcept { return sync_map_min_; }
    /// @return Whether the current version passes its consistency check.
    bool is_check_ok() const noexcept { return check_ok_; }
    /// @return The digest of the history.
    layout_digest const& digest() const noexcept { return digest_; }

    /** @param h A partition-key hash. @return Its partition. */
    static partition_id partition_of(util::hash32 const& h) noexcept { return layout::partition_of(h); }

    /** The nodes to read a hash from: those of the version `sync_map_min()`.
        @param h A partition-key hash.
        @return rf nodes (empty when the layout is not ready). */
    std::vector<util::node_id> read_nodes_of(util::hash32 const& h) const;

    /** The write sets of a hash: its nodes in each live version, oldest first.
        @param h A partition-key hash.
        @return One set per live version. */
    std::vector<std::vector<util::node_id>> write_sets_of(util::hash32 const& h) const;

    /** The nodes that store a hash in some live version.
        @param h A partition-key hash.
        @return Sorted, without duplicates. */
    std::vector<util::node_id> storage_nodes_of(util::hash32 const& h) const;

    /** The nodes that store a hash in the current version.
        @param h A partition-key hash.
        @return rf nodes (empty when the layout is not ready). */
    std::vector<util::node_id> current_storage_nodes_of(util::hash32 const& h) const;

    /** Changes the history and, if `f` says it changed, recomputes everything.
        @param f Changes the history; returns true when it changed it.
        @return What `f` returned. */
    bool update(std::function<bool(layout_history&)> const& f);

    /** Registers a write that started with the current version (the ack lock).
        @return The version locked; pass it to @ref unlock_write. */
    std::uint64_t lock_write();

    /** Ends a write registered by @ref lock_write.
        @param version The version it returned. */
    void unlock_write(std::uint64_t version);

    /** Raises the local node's `ack` to the newest version with no older write in flight.
        @param local The local node.
        @return True when the tracker changed. */
    bool ack_max_free(util::node_id const& local);

    /** The local node's periodic tracker update: `ack` as @ref ack_max_free, `sync` to at
        least the oldest live version, `sync_ack` to `sync_map_min()`.
        @param local The local node.
        @return True when a tracker changed. */
    bool update_trackers_of(util::node_id const& local);

    /** Records that the local node synchronised every table up to a version.
        @param local   The local node.
        @param version The version.
        @return True when the tracker changed. */
    bool sync_until(util::node_id const& local, std::uint64_t version);

private:
    void recompute();

    std::size_t replication_factor_;
    util::consistency_mode mode_;
    layout_history history_;
    std::vector<util::node_id> all_nodes_;
    std::vector<util::node_id> all_storage_nodes_;
    std::uint64_t ack_map_min_ = 0;
    std::uint64_t sync_map_min_ = 0;
    bool check_ok_ = false;
    layout_digest digest_;
    std::map<std::uint64_t, std::size_t> ack_lock_;
};

} // namespace garage::layout
