#pragma once
/** @file
    `model_cluster<Model>`: the tables of a @ref garage::model::basic_model read and written
    across the cluster (quorum reads, replication of local writes, anti-entropy, GC), the C++
    form of the `Table` objects Garage's `src/model/garage.rs` builds around each table.
*/

#include <garage/rpc/rpc_helper.hpp>
#include <garage/table/detail/task_group.hpp>
#include <garage/table/gc.hpp>
#include <garage/table/replicated_table.hpp>
#include <garage/table/syncer.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>
#include <garage/util/write_capture.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace garage::model {

/// Tunables of a @ref model_cluster.
struct model_cluster_options {
    table::replicated_table_options table; ///< timeouts and batch sizes of every table
    table::syncer_options sync;            ///< anti-entropy interval
    table::gc_options gc;                  ///< tombstone collection
};

/// The cluster services of one table: its replicated view, its syncer and its GC.
template <class Local>
struct replicated_parts {
    using local_type = Local; ///< the node-local table
    /// The table read and written across the cluster.
    using replicated_type =
        table::replicated_table<typename Local::schema_type, typename Local::replication_type,
                                typename Local::storage_type>;
    /// Its Merkle anti-entropy.
    using syncer_type = table::syncer<typename Local::schema_type, typename Local::replication_type,
                                      typename Local::storage_type>;
    /// Its tombstone GC.
    using gc_type = table::table_gc<typename Local::schema_type, typename Local::replication_type,
                                    typename Local::storage_type>;

    std::unique_ptr<replicated_type> table; ///< quorum reads and writes
    std::unique_ptr<syncer_type> sync;      ///< anti-entropy
    std::unique_ptr<gc_type> gc;            ///< tombstone GC
};

/** The tables of a model served and used across the cluster.

    For each of the model's nine tables it holds a @ref garage::table::replicated_table (the
    table endpoint, quorum reads with read repair, replicated insert-queue flushes), a
    @ref garage::table::syncer (Merkle anti-entropy, offload of partitions this node no longer
    stores) and a @ref garage::table::table_gc (two-phase tombstone collection). The model's
    replication policies say which nodes store what (`full_copy` for buckets, aliases and
    keys; `sharded` for the rest).

    The API writes to the local tables (and blocks) first, in a @ref garage::util::write_capture
    scope, then calls @ref replicate with what was captured: each entry goes to the other nodes
    of its write sets, and the request answers once every set has its write quorum, this node
    counting as one. With a layout of one node nothing is sent.

    @tparam Model A @ref garage::model::basic_model.

    @par Lifecycle
    `start()` registers the endpoints; `spawn_workers` starts the workers; `co_await stop()`
    removes the endpoints and waits for read repairs. The model and the RPC helper must outlive it.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
template <class Model>
class model_cluster {
public:
    using model_type = Model; ///< the model
    /// Sends a block this node stored to the block's other storage nodes (with the write quorum).
    using block_sender = std::function<boost::asio::awaitable<util::result<void>>(util::captured_block)>;
    /// Reads a block from the nodes that store it (plain bytes, verified against the hash).
    using block_getter = std::function<boost::asio::awaitable<util::result<std::string>>(util::hash32)>;
    /// The replicated parts of every table, by local table type.
    using parts_tuple = std::tuple<replicated_parts<typename Model::bucket_table_type>,
                                   replicated_parts<typename Model::bucket_alias_table_type>,
                                   replicated_parts<typename Model::key_table_type>,
                                   replicated_parts<typename Model::object_table_type>,
                                   replicated_parts<typename Model::mpu_table_type>,
                                   replicated_parts<typename Model::version_table_type>,
                                   replicated_parts<typename Model::block_ref_table_type>,
                                   replicated_parts<typename Model::object_counter_type::table_type>,
                                   replicated_parts<typename Model::mpu_counter_type::table_type>>;

    /** @param model   The model (its tables use the cluster's replication policies).
        @param rpc     The quorum helper.
        @param options Timeouts, sync interval, GC. */
    model_cluster(Model& model, rpc::rpc_helper& rpc, model_cluster_options options = {})
        : model_(model), rpc_(rpc)
    {
        make(std::get<0>(parts_), model.bucket_table(), options);
        make(std::get<1>(parts_), model.bucket_alias_table(), options);
        make(std::get<2>(parts_), model.key_table(), options);
        make(std::get<3>(parts_), model.object_table(), options);
        make(std::get<4>(parts_), model.mpu_table(), options);
        make(std::get<5>(parts_), model.version_table(), options);
        make(std::get<6>(parts_), model.block_ref_table(), options);
        make(std::get<7>(parts_), model.object_counter().counter_table(), options);
        make(std::get<8>(parts_), model.mpu_counter().counter_table(), options);
    }
    model_cluster(model_cluster const&) = delete;
    model_cluster& operator=(model_cluster const&) = delete;

    /// Registers every table's endpoints (table, sync, GC).
    void start()
    {
        for_each([](auto& p) {
            p.table->start();
            p.sync->start();
            p.gc->start();
        });
    }

    /** Removes the endpoints and waits for the read repairs in flight.
        @return An awaitable that completes when nothing of the tables runs any more. */
    boost::asio::awaitable<void> stop()
    {
        for_each([](auto& p) {
            p.sync->stop();
            p.gc->stop();
        });
        std::vector<boost::asio::awaitable<void>> stops;
        for_each([&stops](auto& p) { stops.push_back(p.table->stop()); });
        for (auto& s : stops) {
            co_await std::move(s);
        }
    }

    /** Starts, for every table, "<table> Merkle", "<table> queue" (flushed to the entries'
        nodes), "<table> sync" and "<table> GC" (36 workers). Use instead of the model's
        `spawn_workers`, whose queue and GC act on this node only.
        @param runner Where the workers run. @param ex The executor of their timers. */
    void spawn_workers(util::background_runner& runner, util::net::any_io_executor ex)
    {
        for_each([&runner, &ex](auto& p) {
            p.table->spawn_workers(runner, ex);
            p.sync->spawn_worker(runner, ex);
            p.gc->spawn_worker(runner, ex);
        });
    }

    /** Asks every table's syncer for a full pass now (`garage repair tables`). */
    void request_full_sync()
    {
        for_each([](auto& p) { p.sync->request_full_sync(); });
    }

    /** The replicated view of one of the model's tables.
        @param t The local table (e.g. `model.object_table()`).
        @return Its replicated table. */
    template <class Local>
    typename replicated_parts<Local>::replicated_type& replicated(Local const& t)
    {
        (void)t;
        return *std::get<replicated_parts<Local>>(parts_).table;
    }

    /** Installs the test of a layout of this node alone (none: never alone). While it holds,
        the API records nothing for @ref replicate (which would send nothing anyway).
        @param f Whether every live layout version names this node alone (or none). */
    void set_alone(std::function<bool()> f) { alone_ = std::move(f); }
    /// @return Whether the layout names this node alone: writes go to no other node.
    bool alone() const { return alone_ && alone_(); }

    /** Installs how captured blocks are sent to the other nodes (none: blocks are not sent).
        @param s The sender. */
    void set_block_sender(block_sender s) { send_block_ = std::move(s); }

    /** Installs how a block this node lacks is read from the others (none: it is not).
        @param g The getter. */
    void set_block_getter(block_getter g) { get_block_ = std::move(g); }
    /// @return Whether a block getter is installed.
    bool fetches_blocks() const noexcept { return static_cast<bool>(get_block_); }
    /** Reads a block from the other nodes (with the block getter).
        @param h The block's hash. @return Its plain bytes, verified; the getter's failure. */
    boost::asio::awaitable<util::result<std::string>> get_block(util::hash32 h) { return get_block_(h); }

    /** Sends what a request wrote locally to the other nodes that store it: every captured
        entry to its table's write sets, every captured block with the block sender, all at
        once; completes when each has its write quorum (this node counting as one).
        @param cap What the request's local writes stored.
        @return Nothing; the first failure (a quorum not reached, naming the nodes). */
    boost::asio::awaitable<util::result<void>> replicate(util::write_capture cap)
    {
        std::vector<boost::asio::awaitable<util::result<void>>> tasks;
        std::map<std::string_view, std::vector<std::pair<util::hash32, std::string>>> by_table;
        for (auto& e : cap.entries) {
            by_table[e.table].emplace_back(e.partition, std::move(e.bytes));
        }
        for (auto& group : by_table) {
            // not a structured binding: lambdas may not capture those before C++20 (clang 14)
            std::string_view const name = group.first;
            auto& items = group.second;
            bool found = false;
            for_each([&](auto& p) {
                if (!found && p.table->local().name() == name) {
                    found = true;
                    tasks.push_back(p.table->replicate(std::move(items)));
                }
            });
        }
        if (send_block_) {
            for (auto& b : cap.blocks) {
                tasks.push_back(send_block_(std::move(b)));
            }
        }
        if (tasks.empty()) {
            co_return util::result<void>{};
        }
        if (tasks.size() == 1) {
            co_return co_await std::move(tasks.front());
        }
        auto results = co_await table::detail::when_all(std::move(tasks));
        for (auto& r : results) {
            if (!r) {
                co_return r.error();
            }
        }
        co_return util::result<void>{};
    }

    /** Calls `f(parts)` on the parts of every table.
        @param f The function, called with each @ref replicated_parts. */
    template <class F>
    void for_each(F&& f)
    {
        std::apply([&f](auto&... p) { (f(p), ...); }, parts_);
    }

    /// @return The model.
    Model& model() noexcept { return model_; }

private:
    template <class Local>
    void make(replicated_parts<Local>& p, Local& t, model_cluster_options const& o)
    {
        p.table = std::make_unique<typename replicated_parts<Local>::replicated_type>(t, rpc_, o.table);
        p.sync = std::make_unique<typename replicated_parts<Local>::syncer_type>(t, rpc_, o.sync);
        p.gc = std::make_unique<typename replicated_parts<Local>::gc_type>(t, rpc_, o.gc);
    }

    Model& model_;
    rpc::rpc_helper& rpc_;
    parts_tuple parts_;
    block_sender send_block_;
    block_getter get_block_;
    std::function<bool()> alone_;
};

} // namespace garage::model
