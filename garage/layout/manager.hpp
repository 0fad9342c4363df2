#pragma once
/** @file
    `layout_manager`: this node's copy of the cluster layout, persisted in
    `<metadata_dir>/cluster_layout`, kept in agreement with the other nodes by gossip over RPC
    (Garage `LayoutManager`, reference §5.6).
*/

#include <garage/layout/helper.hpp>
#include <garage/layout/history.hpp>
#include <garage/layout/source.hpp>
#include <garage/rpc/network.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::rpc {
class rpc_helper;
}

namespace garage::layout {

/// How a @ref layout_manager is set up.
struct layout_manager_options {
    std::filesystem::path metadata_dir; ///< where `cluster_layout` is kept (created if missing)
    std::size_t replication_factor = 0; ///< the configured replication factor (≥ 1)
    util::consistency_mode consistency_mode = util::consistency_mode::consistent; ///< the configured mode
    std::chrono::milliseconds rpc_timeout{30'000}; ///< the timeout of each layout RPC

    /** The options of a node's configuration.
        @param config The parsed `garage.toml`.
        @return `metadata_dir`, `replication_factor` and `consistency_mode` from it. */
    static layout_manager_options from_config(util::config const& config);
};

/** A history received from a peer that this node refused because it holds another layout
    under the same version number (two nodes applied different changes as one version). */
struct layout_conflict {
    util::node_id peer;                  ///< the node that sent it
    std::vector<std::uint64_t> versions; ///< the version numbers in conflict
    std::uint64_t at_msec = 0;           ///< when it was received
};

/** This node's cluster layout, persisted and gossiped.

    At start (@ref open) the history is read from `<metadata_dir>/cluster_layout`; a node
    without one starts with an empty history of the configured replication factor. Every
    change — a local operation (staging, apply, revert, skip-dead-nodes, trackers) or a
    history or trackers merged from a peer — is first written to disk, then published as a
    new immutable snapshot (@ref snapshot), then given to the subscribers (@ref subscribe),
    and finally advertised to every connected peer. A change that cannot be persisted is not
    made.

    Served endpoints (messages.hpp): `PullClusterLayout`, `AdvertiseClusterLayout`,
    `PullClusterLayoutTrackers`, `AdvertiseClusterLayoutTrackers`. A received history is
    merged (a CRDT, reference §5.6) unless it is refused: another replication factor, a
    current version that fails its check while ours passes, versions that are not consecutive
    or that fail their check, or a version number both hold with different contents
    (recorded in @ref conflicts). A refused history changes nothing, in memory or on disk.

    The status exchange (@ref garage::layout::system) compares layout digests and calls
    @ref on_peer_digest, which pulls the layout or the trackers from a peer that differs.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (one mutex; snapshots are swapped atomically).
    Subscribers are called without the lock held, on the thread that made the change.

    @par Example
    @code
    auto mgr = layout::layout_manager::open(net, {.metadata_dir = dir, .replication_factor = 3}).value();
    mgr->stage_assign(std::span(&node, 1), {.zone = "dc1", .capacity = 1'000'000'000}).value();
    auto report = mgr->apply(1).value();       // advertised to every connected node
    auto nodes = mgr->snapshot()->read_nodes_of(hash);
    @endcode
*/
class layout_manager final : public layout_source {
public:
    /// Called with each new snapshot.
    using subscriber = std::function<void(std::shared_ptr<layout_helper const> const&)>;

    /** Loads the history and registers the endpoints on `net`.
        @param net     The transport (must outlive the manager and its background calls).
        @param options Where and what.
        @return The manager; `util::error::io_error` or `util::error::decode_error` if the
                persisted history cannot be read, `error::invalid_parameter` if its
                replication factor is not the configured one (or that is 0). */
    static util::result<std::unique_ptr<layout_manager>> open(rpc::network& net,
                                                              layout_manager_options options);

    layout_manager(layout_manager const&) = delete;
    layout_manager& operator=(layout_manager const&) = delete;
    /// Removes the endpoints; advertisements already sent complete on their own.
    ~layout_manager() override;

    // ---- layout_source ----

    /// @return The current layout (an immutable snapshot; never null).
    std::shared_ptr<layout_helper const> snapshot() const override;
    /// @return This node's id.
    util::node_id local_node() const override;
    /// @return The configured replication factor.
    std::size_t replication_factor() const override;
    /// @return The configured consistency mode.
    util::consistency_mode consistency_mode() const override;
    /** Orders nodes as the RPC helper does (self, same zone, lowest ping) when one was given
        (@ref set_rpc_helper); otherwise self first, then the others in their order.
        @param nodes The candidates.
        @return The same nodes, best first. */
    std::vector<util::node_id> preferred_order(std::vector<util::node_id> nodes) const override;

    /** Uses `helper` to order nodes (it must outlive the manager; null to stop).
        @param helper The helper, usually built with @ref zone_of as its zone function. */
    void set_rpc_helper(rpc::rpc_helper const* helper);

    /** @param node A node.
        @return Its zone in the current layout, or `std::nullopt` when it has no role
                (suitable as the zone function of an `rpc::rpc_helper`). */
    std::optional<std::string> zone_of(util::node_id const& node) const;

    /** Calls `f` with every new snapshot (table sync, block rebalance).
        @param f The function; must not block, and must not call @ref subscribe or
                 @ref unsubscribe.
        @return A handle for @ref unsubscribe. */
    std::uint64_t subscribe(subscriber f);
    /** Stops calling a subscriber.
        @param handle What @ref subscribe returned. */
    void unsubscribe(std::uint64_t handle);

    // ---- local operations (CLI, admin API) ----

    /** Stages roles (`garage layout assign`).
        @param nodes The nodes. @param options Zone, capacity, tags, replaced nodes.
        @return As @ref layout_history::stage_assign, or an I/O error (nothing staged). */
    util::result<void> stage_assign(std::span<util::node_id const> nodes, assign_options const& options);
    /** Stages the removal of a node's role (`garage layout remove`).
        @param node The node. @return As @ref layout_history::stage_remove, or an I/O error. */
    util::result<void> stage_remove(util::node_id const& node);
    /** Stages the zone redundancy (`garage layout config -r`).
        @param z The parameter. @return As @ref layout_history::stage_zone_redundancy, or an I/O error. */
    util::result<void> stage_zone_redundancy(zone_redundancy z);
    /** Applies the staged changes (`garage layout apply --version`).
        @param version Must be current + 1.
        @return The report; `error::missing_version`, `error::stale_version`, the refusals of
                the assignment, or an I/O error. Nothing changes on error. */
    util::result<report> apply(std::optional<std::uint64_t> version);
    /** Drops the staged changes (`garage layout revert`).
        @return Nothing, or an I/O error. */
    util::result<void> revert();
    /** Forces the trackers past dead nodes (`garage layout skip-dead-nodes`).
        @param version The version to assume reached.
        @param is_up   Whether a node is up.
        @param allow_missing_data Also raise the trackers of live nodes.
        @return As @ref layout_history::skip_dead_nodes, or an I/O error. */
    util::result<std::vector<std::string>>
    skip_dead_nodes(std::uint64_t version, std::function<bool(util::node_id const&)> const& is_up,
                    bool allow_missing_data);
    /** Merges a whole history given locally (the admin API's layout update): as if a peer
        had advertised it.
        @param history The history.
        @return Whether the layout changed; the refusals of a received history. */
    util::result<bool> merge(layout_history const& history);

    // ---- transition trackers ----

    /// The state shared with the endpoint handlers and background calls; opaque.
    struct state;

    /** A write in progress against the layout version current when it started: while it
        lives, this node does not acknowledge newer versions (Garage's ack lock). */
    class write_guard {
    public:
        /** Takes over another guard's write; `other` then guards nothing.
            @param other The guard. */
        write_guard(write_guard&& other) noexcept;
        write_guard& operator=(write_guard&&) = delete;
        write_guard(write_guard const&) = delete;
        write_guard& operator=(write_guard const&) = delete;
        /// Ends the write; the local `ack` tracker may then advance (and is advertised).
        ~write_guard();
        /// @return The version the write started with.
        std::uint64_t version() const noexcept { return version_; }

    private:
        friend class layout_manager;
        write_guard(std::shared_ptr<state> st, std::uint64_t v) : state_(std::move(st)), version_(v) {}
        std::shared_ptr<state> state_;
        std::uint64_t version_;
    };

    /** Registers a write against the current version (call before computing its write sets).
        @return The guard; keep it until the write completes. */
    write_guard lock_write();

    /** Declares a table whose synchronisation the `sync` tracker waits for.
        @param table The table name. */
    void register_table(std::string table);
    /** Records that `table` synchronised its data for every version up to `version`; when
        every registered table did, the local `sync` tracker is raised (and advertised).
        @param table   A registered table (others are registered on first use).
        @param version The version. */
    void sync_table_until(std::string_view table, std::uint64_t version);
    /** Raises this node's trackers as far as they may go (`ack` to the newest version no
        write holds back, `sync` to at least the oldest live version, `sync_ack` to the
        version every storage node synchronised), persisting and advertising a change.
        @return True when a tracker changed. */
    bool update_trackers();

    // ---- gossip ----

    /** Compares a peer's layout digest with ours and, if it differs, pulls in the
        background: the layout when its version, live versions or staging differ, otherwise
        the trackers when those differ.
        @param peer   The node.
        @param digest Its digest. */
    void on_peer_digest(util::node_id const& peer, layout_digest const& digest);

    /** Asks `peer` for its history and merges it.
        @param peer The node.
        @return Whether our layout changed; the transport's failure or the refusal. */
    boost::asio::awaitable<util::result<bool>> pull_layout(util::node_id peer);
    /** Asks `peer` for its trackers and merges them.
        @param peer The node.
        @return Whether our trackers changed; the transport's failure. */
    boost::asio::awaitable<util::result<bool>> pull_trackers(util::node_id peer);
    /** Sends our history to `peer` and waits for its answer.
        @param peer The node.
        @return Nothing; the transport's failure, or the peer's refusal (its message says why). */
    boost::asio::awaitable<util::result<void>> advertise_layout_to(util::node_id peer);
    /** Sends our history to every connected peer, in the background. */
    void broadcast_layout();
    /** Sends our trackers to every connected peer, in the background. */
    void broadcast_trackers();

    /// @return The histories refused for conflicting versions, oldest first (at most 100).
    std::vector<layout_conflict> conflicts() const;

private:
    explicit layout_manager(std::shared_ptr<state> st);

    std::shared_ptr<state> state_;
};

} // namespace garage::layout
