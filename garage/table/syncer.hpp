#pragma once
/** @file
    `syncer<Schema, Replication, Storage>`: Merkle anti-entropy between the nodes that store a
    partition, and offload of partitions this node no longer stores (Garage's `TableSyncer`).
*/

#include <garage/rpc/rpc_helper.hpp>
#include <garage/table/detail/async_worker.hpp>
#include <garage/table/endpoints.hpp>
#include <garage/table/table.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace garage::table {

/// Tunables of a @ref syncer (Garage's constants are the defaults).
struct syncer_options {
    /// The time between full passes (Garage's `ANTI_ENTROPY_INTERVAL`, 10 min).
    std::chrono::milliseconds interval = std::chrono::minutes(10);
    /// Items pushed per `Items` message during a sync (Garage: 256).
    std::size_t push_batch = 256;
    /// `GetNode` requests in flight at once while walking the trees (Garage: one at a time).
    std::size_t parallel_requests = 32;
    /// Items pushed (then deleted) per step of an offload (Garage: 1024).
    std::size_t offload_batch = 1024;
    /// The timeout of each request; absent: the network's default.
    std::optional<std::chrono::milliseconds> timeout;
};

/// What one full pass of a @ref syncer did.
struct sync_report {
    std::uint64_t layout_version = 0;     ///< the layout version of the partitions synchronised
    std::size_t partitions_synced = 0;    ///< partitions this node stores, compared with the other nodes
    std::size_t partitions_offloaded = 0; ///< partitions this node no longer stores, pushed away
    std::size_t items_pushed = 0;         ///< items sent to nodes that lacked them or held them differently
    std::size_t items_offloaded = 0;      ///< items pushed away and deleted here
    std::vector<std::string> failures;    ///< one line per partition or node that failed
    /// @return True when every partition was synchronised with enough nodes (and offloads succeeded).
    bool complete() const noexcept { return failures.empty(); }
};

/** Merkle anti-entropy of one table (Garage's `TableSyncer`), worker "<table> sync".

    A full pass (@ref sync_pass) takes `Replication::sync_partitions()`. For each partition
    this node stores, it compares its Merkle root with each other storage node's
    (`RootCkHash`); where they differ it walks the two trees from the root (`GetNode`),
    descending only into children whose hashes differ, and pushes the entries the other node
    lacks or holds differently (`Items`, in batches). Sync is push-only: each node drives its
    own pass, so two passes (one on each side) make two nodes equal. Where the other tree has
    nothing below a prefix, every local entry below it is pushed without further requests;
    `GetNode` requests of one level go out together (`parallel_requests` at most). A partition counts as
    synchronised when, counting this node, a write quorum of its nodes took part.

    A partition this node no longer stores is offloaded: its entries are pushed to every one
    of its storage nodes, a batch at a time, and each batch is deleted here (unless changed
    meanwhile) only once every node has taken it.

    Passes run every `interval`, and on demand (@ref request_full_sync, after a layout
    change, or for `garage repair tables`). After each pass the function given to
    @ref on_pass_complete gets the report; a layout manager calls its
    `sync_until(report.layout_version)` when `report.complete()`.

    @tparam Schema      Models @ref garage::table::table_schema.
    @tparam Replication Models @ref garage::replication::replication_policy.
    @tparam Storage     Models @ref garage::storage::storage_backend.

    @par Lifecycle
    `start()` registers the sync endpoint; `stop()` removes it. The local table and the RPC
    helper must outlive this object.

    @par Thread Safety
    Distinct objects: safe. Shared objects: one pass at a time (the worker's).
*/
template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
class syncer {
public:
    using local_type = table<Schema, Replication, Storage>; ///< the node-local table
    using endpoint_type = sync_endpoint<Schema>;            ///< this table's sync endpoint

    /** @param local This node's table. @param rpc The quorum helper.
        @param options Interval, batch sizes, timeout. */
    syncer(local_type& local, rpc::rpc_helper& rpc, syncer_options options = {});
    syncer(syncer const&) = delete;
    syncer& operator=(syncer const&) = delete;
    /// Removes the endpoint's handler.
    ~syncer();

    /// Registers the sync endpoint.
    void start();
    /// Removes the sync endpoint's handler.
    void stop();

    /** One full pass over `Replication::sync_partitions()`: sync or offload each partition.
        Applies this node's pending Merkle updates first.
        @return The report (failures included); a local storage error. */
    boost::asio::awaitable<util::result<sync_report>> sync_pass();

    /** Pushes to `node` what this node holds and `node` lacks or holds differently, in one partition.
        @param partition The partition. @param node The other node.
        @return How many items were pushed; the failure of a request. */
    boost::asio::awaitable<util::result<std::size_t>> sync_with(replication::sync_partition const& partition,
                                                                util::node_id node);

    /** Pushes every item of a partition this node no longer stores to all its storage nodes,
        deleting each batch here once all took it.
        @param partition The partition.
        @return How many items were offloaded (deleted here); the failure of a push. */
    boost::asio::awaitable<util::result<std::size_t>> offload(replication::sync_partition const& partition);

    /// Asks the worker for a full pass now (after a layout change, or `repair tables`).
    void request_full_sync();

    /** Sets the function told about each finished pass (the sync tracker's hook).
        @param f Called with the report, on the worker's strand. */
    void on_pass_complete(std::function<void(sync_report const&)> f) { on_pass_ = std::move(f); }

    /** Starts the worker "<table> sync": a pass at start, then every `interval` or on demand.
        @param runner Where the worker runs. @param ex The executor of its timers. */
    void spawn_worker(util::background_runner& runner, util::net::any_io_executor ex);

    /** Serves one request of the sync endpoint.
        @param from The caller. @param request The request.
        @return The answer; `error::invalid_entry` for pushed items that do not decode (nothing written). */
    boost::asio::awaitable<util::result<sync_response>> handle(util::node_id from, sync_request request);

    /// @return The report of the last pass, if any.
    std::optional<sync_report> const& last_report() const noexcept { return last_; }

private:
    boost::asio::awaitable<util::result<sync_response>> call(util::node_id node, sync_request request);
    boost::asio::awaitable<util::result<void>> push(util::node_id node, std::vector<std::string> keys);
    util::result<void> collect_leaves(std::string const& node_key, std::vector<std::string>& out) const;
    util::net::awaitable<util::result<util::worker_step>> worker_step();

    local_type& local_;
    rpc::rpc_helper& rpc_;
    syncer_options options_;
    std::function<void(sync_report const&)> on_pass_;
    std::optional<sync_report> last_;
    std::shared_ptr<util::async_notify> notify_;
    std::atomic<bool> requested_{true};
    std::chrono::steady_clock::time_point next_pass_{};
    bool serving_ = false;
};

} // namespace garage::table

#include <garage/table/impl/syncer.hpp>
