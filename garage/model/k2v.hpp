#pragma once
/** @file
    `basic_k2v`: the K2V part of the data model (Garage's `K2VRpcHandler` and the K2V fields
    of `src/model/garage.rs`): the `k2v_item` table, its index counter, the poll notifier, and
    the node-local insert that gives each write its DVVS timestamp.
*/

#include <garage/model/counter.hpp>
#include <garage/model/k2v_causality.hpp>
#include <garage/model/k2v_item.hpp>
#include <garage/model/k2v_subscriptions.hpp>
#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/table.hpp>
#include <garage/table/workers.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace garage::model {

/** One K2V write: an item's keys, the causal context the client sent, and the value (or a
    deletion). */
struct k2v_insert {
    k2v_item_partition partition;          ///< bucket and partition key
    std::string sort_key;                  ///< the sort key
    std::optional<causal_context> context; ///< what the client had seen (none: a new sibling)
    dvvs_value value;                      ///< the bytes, or nullopt to delete
};

/** The K2V tables of one node, opened on one storage.

    A write (insert()) is applied here, on the node that receives it: under a mutex, the item
    is read, updated with a timestamp above every one this node gave before (persisted in the
    tree `k2v_local_timestamp`), and merged back in one transaction, whose hook counts it into
    `k2v_index_counter_v2` and wakes the polls waiting on it. Replication to other nodes is the
    table's (and follows the cluster layer).

    K2V is kept apart from @ref basic_model (as Garage's `k2v` feature is optional): a node
    without `[k2v_api]` need not open it. It needs nothing from the S3 tables; the API
    resolves buckets and keys through the main model.

    @tparam Replication Models @ref garage::replication::replication_policy (sharded in a
                        cluster); its `local_node()` names the writing node.
    @tparam Storage     Models @ref garage::storage::storage_backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (writes are serialised by a mutex and the
    storage; reads are snapshots).

    @par Example
    @code
    auto k2v = model::basic_k2v<replication::local, storage::lmdb_backend>::open(db,
   replication::local{}).value(); k2v->insert({{bucket, "mailbox"}, "INBOX", std::nullopt,
   std::string("hello")}); auto item = k2v->get({bucket, "mailbox"}, "INBOX").value(); // one value, "hello"
    @endcode
*/
template <replication::replication_policy Replication, storage::storage_backend Storage>
class basic_k2v {
public:
    /// The `k2v_index_counter_v2` index counter.
    using counter_type = index_counter<k2v_index_counter, Replication, Storage>;
    /// The schema of the item table.
    using schema_type = k2v_item_schema<counter_type, k2v_subscriptions>;
    /// The `k2v_item` table.
    using item_table_type = table::table<schema_type, Replication, Storage>;

    /** Opens (creating if needed) the item table, the counter and the timestamp tree.
        @param db The storage; it must outlive the K2V tables.
        @param replication The replication of items and counters.
        @param options The tables' options.
        @return The tables, or the first storage error. */
    static util::result<std::unique_ptr<basic_k2v>> open(Storage& db, Replication replication,
                                                         table::table_options options = {});

    basic_k2v(basic_k2v const&) = delete;
    basic_k2v& operator=(basic_k2v const&) = delete;

    /** Applies one write (see the class comment).
        @param w The write.
        @return Nothing, or the storage error (nothing is written). */
    util::result<void> insert(k2v_insert const& w);

    /** Applies several writes in one transaction (all or nothing); writes to the same item
        apply in order.
        @param ws The writes.
        @return Nothing, or the storage error (nothing is written). */
    util::result<void> insert_many(std::span<k2v_insert const> ws);

    /** Reads one item.
        @param partition The partition. @param sort_key The sort key.
        @return The item, nullopt if absent, or a storage error. */
    util::result<std::optional<k2v_item>> get(k2v_item_partition const& partition,
                                              std::string const& sort_key) const
    {
        return items_->get(partition, sort_key);
    }

    /// @return The `k2v_item` table.
    item_table_type& item_table() noexcept { return *items_; }
    /// @return The index counter.
    counter_type& counter() noexcept { return *counter_; }
    /// @return The poll notifier.
    k2v_subscriptions& subscriptions() noexcept { return *subs_; }
    /// @return This node's K2V id.
    k2v_node_id node() const noexcept { return node_; }

    /** Starts the Merkle, queue and GC workers of the item and counter tables.
        @param runner Where the workers run. @param ex Their timers' executor. */
    void spawn_workers(util::background_runner& runner, util::net::any_io_executor ex);

    /// Flushes the insert queues until empty. @return How many entries were inserted.
    util::result<std::size_t> flush_insert_queues();

    /// Runs one GC step on both tables. @return How many todo entries were handled.
    util::result<std::size_t> gc_step();

    /// The name of the tree holding this node's last K2V timestamp.
    static constexpr std::string_view timestamp_tree_name = "k2v_local_timestamp";

private:
    using tree_type = typename Storage::tree_type;
    basic_k2v(Storage& db, tree_type ts_tree) : db_(&db), ts_tree_(std::move(ts_tree)) {}

    Storage* db_;
    tree_type ts_tree_;
    k2v_node_id node_ = 0;
    std::unique_ptr<k2v_subscriptions> subs_ = std::make_unique<k2v_subscriptions>();
    std::unique_ptr<counter_type> counter_;
    std::unique_ptr<item_table_type> items_;
    std::mutex write_mutex_;
    std::uint64_t last_ts_ = 0; ///< guarded by write_mutex_
};

} // namespace garage::model

#include <garage/model/impl/k2v.hpp>
