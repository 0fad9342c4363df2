#pragma once
/** @file
    `replicated_table<Schema, Replication, Storage>`: a @ref garage::table::table read and
    written across the cluster, with quorums and read repair (Garage's `Table`).
*/

#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/group_commit.hpp>
#include <garage/table/detail/async_worker.hpp>
#include <garage/table/detail/task_group.hpp>
#include <garage/table/endpoints.hpp>
#include <garage/table/table.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace garage::table {

/// Tunables of a @ref replicated_table.
struct replicated_table_options {
    /// The timeout of each request; absent: the network's default (Garage's 300 s).
    std::optional<std::chrono::milliseconds> timeout;
    /// Queued inserts sent per flush of the insert queue (Garage: 1024).
    std::size_t queue_batch = 1024;
};

/// Counters of a @ref replicated_table since it was made.
struct replicated_table_stats {
    std::uint64_t read_repairs = 0; ///< read repairs sent (one per node and read)
    std::uint64_t refused = 0;      ///< requests from peers refused (undecodable entries or filters)
};

/** A table replicated over the nodes that `Replication` names (Garage's `Table`).

    Wraps this node's @ref table and serves the table endpoint (@ref table_endpoint) for the
    other nodes:
    - @ref insert and @ref insert_many send `Update` to every node of every write set of the
      entries' partitions, grouped by write sets, and complete once `write_quorum()` nodes of
      each set have merged them (priority normal);
    - @ref get asks `read_quorum()` of the read nodes (this node first, then the nearest),
      merges the answers with `crdt::merge`, and re-sends the merged entry in the background
      to each node that answered differently (read repair);
    - @ref get_range does the same per key, returning only entries below the point every
      answering node has covered;
    - @ref flush_insert_queue sends what the schema hooks queued to the entries' own nodes.

    @tparam Schema      Models @ref garage::table::table_schema.
    @tparam Replication Models @ref garage::replication::replication_policy.
    @tparam Storage     Models @ref garage::storage::storage_backend.

    Storage writes run on the calling coroutine (LMDB write transactions are short); run the
    network on a pool if they are not.

    @par Lifecycle
    `start()` registers the endpoint; `co_await stop()` removes it and waits for the read
    repairs in flight. The local table and the RPC helper must outlive this object.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.

    @par Example
    @code
    auto local = table::table<my_schema, my_replication, storage::lmdb_backend>::open(...).value();
    table::replicated_table<my_schema, my_replication, storage::lmdb_backend> t(*local, helper);
    t.start();
    auto w = co_await t.insert(my_entry{...});            // quorum write
    auto e = co_await t.get(pk, sk);                      // quorum read, merged, repaired
    @endcode
*/
template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
class replicated_table {
public:
    using local_type = table<Schema, Replication, Storage>;         ///< the node-local table
    using partition_key_type = typename Schema::partition_key_type; ///< the partition key
    using sort_key_type = typename Schema::sort_key_type;           ///< the sort key
    using entry_type = typename Schema::entry_type;                 ///< the stored CRDT
    using filter_type = typename Schema::filter_type;               ///< the range-read filter
    using endpoint_type = table_endpoint<Schema>;                   ///< this table's endpoint

    /** @param local   This node's table.
        @param rpc     The quorum helper (and, through it, the network).
        @param options Timeouts and batch sizes. */
    replicated_table(local_type& local, rpc::rpc_helper& rpc, replicated_table_options options = {});
    replicated_table(replicated_table const&) = delete;
    replicated_table& operator=(replicated_table const&) = delete;
    /// Removes the endpoint's handler (call `stop()` first to wait for read repairs).
    ~replicated_table();

    /// Registers the table endpoint on the network.
    void start();
    /** Removes the endpoint's handler and waits for the read repairs in flight.
        @return An awaitable that completes when nothing of this table runs any more. */
    boost::asio::awaitable<void> stop();

    /** Writes one entry to a write quorum of each of its write sets.
        @param e The entry (merged into every copy).
        @return Nothing; `rpc::error::quorum_not_reached` (naming each failed node and why). */
    boost::asio::awaitable<util::result<void>> insert(entry_type e);

    /** Writes entries, grouped by write sets, each group with its quorums (groups run concurrently).
        @param entries The entries.
        @return Nothing; the first group's failure (the others may have succeeded). */
    boost::asio::awaitable<util::result<void>> insert_many(std::vector<entry_type> entries);

    /** Sends entries already merged into this node's table (encoded as stored, e.g. by a
        @ref garage::util::write_capture) to the other nodes of their write sets, this node
        counting as one success in each set that contains it; completes once every set has
        `write_quorum()` successes. Entries whose write sets are this node alone are not sent.
        @param items Each entry's partition hash and stored bytes.
        @return Nothing; `rpc::error::quorum_not_reached` (naming each failed node and why). */
    boost::asio::awaitable<util::result<void>>
    replicate(std::vector<std::pair<util::hash32, std::string>> items);

    /** Reads one entry from a read quorum, merged; repairs the nodes that answered differently.
        @param pk The partition key. @param sk The sort key.
        @return The merged entry or `nullopt`; `rpc::error::quorum_not_reached`;
                `error::invalid_entry` if a node answered bytes that do not decode. */
    boost::asio::awaitable<util::result<std::optional<entry_type>>> get(partition_key_type pk,
                                                                        sort_key_type sk);

    /** Reads a range of one partition from a read quorum, merged per key; repairs differing keys.

        Each node answers at most `limit` entries; an entry is returned only if it lies within
        what every answering node has covered (a node that answered `limit` entries knows
        nothing past its last one), so the result may hold fewer than `limit` entries when the
        nodes disagree.

        @param pk     The partition.
        @param start  The first sort key (inclusive); absent: from the first (or last, reverse).
        @param filter Only entries that pass it (needs a filter type cereal can save: @ref
       garage::table::wire_filter).
        @param limit  At most this many entries.
        @param dir    The direction.
        @return The entries in the order of `dir`; a quorum or decoding failure. */
    boost::asio::awaitable<util::result<std::vector<entry_type>>>
    get_range(partition_key_type pk, std::optional<sort_key_type> start, std::optional<filter_type> filter,
              std::size_t limit, storage::direction dir = storage::direction::forward);

    /** Sends up to `options().queue_batch` queued inserts (from schema hooks) to their nodes
        with @ref insert_many, then removes them from the queue (unless merged into meanwhile).
        @return How many were sent; a write failure leaves them queued. */
    boost::asio::awaitable<util::result<std::size_t>> flush_insert_queue();

    /** Starts the workers "<table> Merkle" (applies the Merkle todo) and "<table> queue"
        (@ref flush_insert_queue, woken by queued inserts). For a replicated table use this
        instead of @ref garage::table::spawn_workers (whose queue and GC act on this node
        only), with @ref garage::table::syncer::spawn_worker and
        @ref garage::table::table_gc::spawn_worker.
        @param runner Where the workers run. @param ex The executor of their timers. */
    void spawn_workers(util::background_runner& runner, util::net::any_io_executor ex);

    /** Serves one request of the table endpoint (what the registered handler calls).
        @param from The caller. @param request The request.
        @return The answer; `error::invalid_entry` for undecodable entries or filters (nothing written). */
    boost::asio::awaitable<util::result<table_response>> handle(util::node_id from, table_request request);

    /** Makes updates received from other nodes go through `committer`: the entries of
        concurrent requests (of any table sharing it) are merged in one transaction on its
        executor, instead of one transaction each on the thread that serves the link.
        @param committer Shared by the node's tables (null: one transaction per request); it
               must outlive this object's handler. */
    void set_committer(storage::group_committer<Storage>* committer) noexcept { committer_ = committer; }

    /// @return This node's table.
    local_type& local() noexcept { return local_; }
    /// @return The quorum helper.
    rpc::rpc_helper& rpc() noexcept { return rpc_; }
    /// @return The tunables.
    replicated_table_options const& options() const noexcept { return options_; }
    /// @return The counters.
    replicated_table_stats stats() const noexcept { return {read_repairs_.load(), refused_.load()}; }
    /// @return How many read repairs are in flight.
    std::size_t repairs_in_flight() const noexcept { return repairs_.running(); }

private:
    boost::asio::awaitable<util::result<void>> write_group(std::vector<std::vector<util::node_id>> sets,
                                                           std::vector<std::string> items,
                                                           bool done_here = false);
    bool reads_here_alone(util::hash32 const& h) const;
    boost::asio::awaitable<void> repair(std::vector<util::node_id> nodes, std::vector<std::string> items);
    void spawn_repairs(std::vector<std::pair<util::node_id, std::vector<std::string>>> per_node);
    rpc::request_strategy strategy(std::size_t quorum) const;
    util::net::awaitable<util::result<util::worker_step>> merkle_step();
    util::net::awaitable<util::result<util::worker_step>> queue_step();

    local_type& local_;
    rpc::rpc_helper& rpc_;
    replicated_table_options options_;
    detail::task_group repairs_;
    std::atomic<std::uint64_t> read_repairs_{0};
    std::atomic<std::uint64_t> refused_{0};
    storage::group_committer<Storage>* committer_ = nullptr;
    bool serving_ = false;
};

} // namespace garage::table

#include <garage/table/impl/replicated_table.hpp>
