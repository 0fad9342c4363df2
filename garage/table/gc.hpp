#pragma once
/** @file
    `table_gc<Schema, Replication, Storage>`: two-phase collection of tombstones across the
    storage nodes of their partition (Garage's `TableGc`).
*/

#include <garage/rpc/rpc_helper.hpp>
#include <garage/table/detail/async_worker.hpp>
#include <garage/table/endpoints.hpp>
#include <garage/table/table.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace garage::table {

/// Tunables of a @ref table_gc (the GC delay and batch size are the table's @ref table_options).
struct gc_options {
    /// How long the worker waits between passes that found nothing due (Garage: 60 s).
    std::chrono::milliseconds idle_wait = std::chrono::seconds(60);
    /// The timeout of each request; absent: the network's default.
    std::optional<std::chrono::milliseconds> timeout;
};

/// Counters of a @ref table_gc since it was made.
struct gc_stats {
    std::uint64_t collected = 0; ///< tombstones deleted on every storage node
    std::uint64_t dropped = 0;   ///< todo items dropped (the entry changed or vanished meanwhile)
    std::uint64_t failed = 0;    ///< todo items left for later (a storage node did not answer)
};

/** Tombstone GC of a replicated table (Garage's `TableGc`, §6.6), worker "<table> GC".

    A write that leaves a tombstone on the first storage node of its partition schedules its
    collection there (`<table>:gc_todo_v2`). Once the table's `gc_delay` has passed, that node
    runs two phases with **all** the other storage nodes of the partition (a single failure
    postpones the collection):
    1. `Update(tombstones)`: every node merges the tombstones, so that none keeps an older live
       value that sync would spread again;
    2. `DeleteIfEqualHash([(key, hash)])`: every node deletes each key whose stored value
       still hashes to the tombstone's hash (a value rewritten meanwhile stays).
    Then this node deletes its own copies the same way and removes the todo items. A todo
    item whose entry is no longer that tombstone is dropped.

    @tparam Schema      Models @ref garage::table::table_schema.
    @tparam Replication Models @ref garage::replication::replication_policy.
    @tparam Storage     Models @ref garage::storage::storage_backend.

    @par Lifecycle
    `start()` registers the GC endpoint; `stop()` removes it.

    @par Thread Safety
    Distinct objects: safe. Shared objects: one @ref gc_step at a time (the worker's).
*/
template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
class table_gc {
public:
    using local_type = table<Schema, Replication, Storage>; ///< the node-local table
    using endpoint_type = gc_endpoint<Schema>;              ///< this table's GC endpoint

    /** @param local This node's table. @param rpc The quorum helper. @param options Waits and timeout. */
    table_gc(local_type& local, rpc::rpc_helper& rpc, gc_options options = {});
    table_gc(table_gc const&) = delete;
    table_gc& operator=(table_gc const&) = delete;
    /// Removes the endpoint's handler.
    ~table_gc();

    /// Registers the GC endpoint.
    void start();
    /// Removes the GC endpoint's handler.
    void stop();

    /** Collects up to the table's `gc_batch` tombstones whose delay has passed.
        @return How many todo items were handled (collected or dropped); `error::partial_failure`
                (naming the nodes) if some could not be collected: they stay scheduled. */
    boost::asio::awaitable<util::result<std::size_t>> gc_step();

    /** Starts the worker "<table> GC".
        @param runner Where the worker runs. @param ex The executor of its timers. */
    void spawn_worker(util::background_runner& runner, util::net::any_io_executor ex);

    /** Serves one request of the GC endpoint.
        @param from The caller. @param request The request.
        @return Done; `error::invalid_entry` for tombstones that do not decode (nothing written). */
    boost::asio::awaitable<util::result<ok_response>> handle(util::node_id from, gc_request request);

    /// @return The counters.
    gc_stats stats() const noexcept { return stats_; }

private:
    boost::asio::awaitable<util::result<void>> call_all(std::vector<util::node_id> nodes, gc_request request);
    util::net::awaitable<util::result<util::worker_step>> worker_step();

    local_type& local_;
    rpc::rpc_helper& rpc_;
    gc_options options_;
    gc_stats stats_;
    bool serving_ = false;
};

} // namespace garage::table

#include <garage/table/impl/gc.hpp>
