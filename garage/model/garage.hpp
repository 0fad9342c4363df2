#pragma once
/** @file
    `basic_model`: every table of Garage's data model, opened on one storage and wired
    together (the C++ form of Garage's `src/model/garage.rs`).
*/

#include <garage/model/block_ref.hpp>
#include <garage/model/bucket.hpp>
#include <garage/model/bucket_alias.hpp>
#include <garage/model/concepts.hpp>
#include <garage/model/counter.hpp>
#include <garage/model/key.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/table.hpp>
#include <garage/table/workers.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <cstddef>
#include <memory>

namespace garage::model {

/** The tables of Garage's data model on one storage, with their hooks wired:

    | table | replication | hook writes to |
    |---|---|---|
    | `bucket_v2`, `bucket_alias`, `key` | `ControlRepl` (full copy in a cluster) | — |
    | `object` | `MetaRepl` (sharded) | `version`, `multipart_upload`, `bucket_object_counter` |
    | `multipart_upload` | `MetaRepl` | `version`, `bucket_mpu_counter` |
    | `version` | `MetaRepl` | `block_ref` |
    | `block_ref` | `MetaRepl` | `RcSink` (block reference counts) |
    | `bucket_object_counter`, `bucket_mpu_counter` | `MetaRepl` | — |

    Every hook runs in the transaction of the write that triggers it and *queues* its writes
    into the next table's insert queue; the queues are flushed by the tables' "queue" workers
    (spawn_workers()) or by flush_insert_queues(). So deleting an object version reaches
    the block reference counts after three flushes: object → version → block_ref → `RcSink`.

    The tables hold pointers to one another, so a model is neither copied nor moved; it is
    created by open() and owned through a `std::unique_ptr`. The storage and the sink must
    outlive it. K2V's item table and its counter are kept apart, in @ref garage::model::basic_k2v
    (garage/model/k2v.hpp), opened on the same storage only by nodes that serve K2V.

    @tparam ControlRepl Models @ref garage::replication::replication_policy, for buckets, aliases and
                        keys (Garage's `control_rep_param`, full copy).
    @tparam MetaRepl    Models @ref garage::replication::replication_policy, for objects, versions,
                        block references, uploads and counters (Garage's `meta_rep_param`,
                        sharded).
    @tparam Storage     Models @ref garage::storage::storage_backend.
    @tparam RcSink      Models @ref garage::model::block_rc_sink for `Storage`'s transactions (the block
                        manager).

    @par Thread Safety
    As its tables: writes are serialised by the storage; reads are safe.

    @par Example
    @code
    using model = model::basic_model<replication::local, replication::local,
                                     storage::lmdb_backend, block::block_manager<storage::lmdb_backend>>;
    auto m = model::open(db, replication::local{}, replication::local{}, blocks).value();
    m->spawn_workers(runner, pool.get_executor());
    @endcode
*/
template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
class basic_model {
public:
    using storage_type = Storage; ///< the storage backend
    using rc_sink_type = RcSink;  ///< the block reference-count sink

    /// The `bucket_v2` table.
    using bucket_table_type = table::table<bucket_schema, ControlRepl, Storage>;
    /// The `bucket_alias` table.
    using bucket_alias_table_type = table::table<bucket_alias_schema, ControlRepl, Storage>;
    /// The `key` table.
    using key_table_type = table::table<access_key_schema, ControlRepl, Storage>;
    /// The `block_ref` table.
    using block_ref_table_type = table::table<block_ref_schema<Storage, RcSink>, MetaRepl, Storage>;
    /// The `version` table.
    using version_table_type = table::table<version_schema<block_ref_table_type>, MetaRepl, Storage>;
    /// The `bucket_mpu_counter` index counter.
    using mpu_counter_type = index_counter<bucket_mpu_counter, MetaRepl, Storage>;
    /// The `multipart_upload` table.
    using mpu_table_type = table::table<mpu_schema<version_table_type, mpu_counter_type>, MetaRepl, Storage>;
    /// The `bucket_object_counter` index counter.
    using object_counter_type = index_counter<bucket_object_counter, MetaRepl, Storage>;
    /// The `object` table.
    using object_table_type =
        table::table<object_schema<version_table_type, mpu_table_type, object_counter_type>, MetaRepl,
                     Storage>;

    /** Opens (creating if needed) every table and the counters' local trees, and wires the hooks.
        @param db      The storage; it must outlive the model.
        @param control The replication of buckets, aliases and keys.
        @param meta    The replication of objects, versions, block references, uploads, counters.
        @param rc_sink The block reference-count sink; it must outlive the model.
        @param options The options of every table.
        @return The model, or the first storage error. */
    static util::result<std::unique_ptr<basic_model>>
    open(Storage& db, ControlRepl control, MetaRepl meta, RcSink& rc_sink, table::table_options options = {});

    basic_model(basic_model const&) = delete;
    basic_model& operator=(basic_model const&) = delete;

    /// @return The `bucket_v2` table.
    bucket_table_type& bucket_table() noexcept { return *bucket_table_; }
    /// @return The `bucket_alias` table.
    bucket_alias_table_type& bucket_alias_table() noexcept { return *bucket_alias_table_; }
    /// @return The `key` table.
    key_table_type& key_table() noexcept { return *key_table_; }
    /// @return The `object` table.
    object_table_type& object_table() noexcept { return *object_table_; }
    /// @return The `bucket_object_counter` index counter.
    object_counter_type& object_counter() noexcept { return *object_counter_; }
    /// @return The `multipart_upload` table.
    mpu_table_type& mpu_table() noexcept { return *mpu_table_; }
    /// @return The `bucket_mpu_counter` index counter.
    mpu_counter_type& mpu_counter() noexcept { return *mpu_counter_; }
    /// @return The `version` table.
    version_table_type& version_table() noexcept { return *version_table_; }
    /// @return The `block_ref` table.
    block_ref_table_type& block_ref_table() noexcept { return *block_ref_table_; }
    /// @return The storage.
    Storage& storage() noexcept { return *db_; }

    /** Starts the Merkle, queue and GC workers of every table (27 workers: 9 tables, counter
        tables included).
        @param runner Where the workers run; it must not outlive the model.
        @param ex     The executor of the workers' timers. */
    void spawn_workers(util::background_runner& runner, util::net::any_io_executor ex);

    /** Flushes every insert queue until all are empty, so that every cascade has run to its
        end (for tests, tools, and a node without workers).
        @return The number of queued entries inserted, or the first error. */
    util::result<std::size_t> flush_insert_queues();

    /** Runs one tombstone-collection step on every table.
        @return The number of GC todo entries handled, or the first error. */
    util::result<std::size_t> gc_step();

private:
    basic_model() = default;

    /// Calls `f(table)` on every table; stops at the first error.
    template <class F>
    util::result<std::size_t> for_each_table(F f);

    Storage* db_ = nullptr;
    std::unique_ptr<bucket_table_type> bucket_table_;
    std::unique_ptr<bucket_alias_table_type> bucket_alias_table_;
    std::unique_ptr<key_table_type> key_table_;
    std::unique_ptr<block_ref_table_type> block_ref_table_;
    std::unique_ptr<version_table_type> version_table_;
    std::unique_ptr<mpu_counter_type> mpu_counter_;
    std::unique_ptr<mpu_table_type> mpu_table_;
    std::unique_ptr<object_counter_type> object_counter_;
    std::unique_ptr<object_table_type> object_table_;
};

} // namespace garage::model

#include <garage/model/impl/garage.hpp>
