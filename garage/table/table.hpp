#pragma once
/** @file
    `table<Schema, Replication, Storage>`: a table of CRDT entries.
*/

#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/error.hpp>
#include <garage/table/merkle.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace garage::table {

/// Tunables of a table (Garage's constants are the defaults).
struct table_options {
    /// How long a tombstone is kept before it is collected (Garage's `TABLE_GC_DELAY`, 24 h).
    std::chrono::milliseconds gc_delay = std::chrono::hours(24);
    /// Tombstones collected per GC step (`TABLE_GC_BATCH_SIZE`).
    std::size_t gc_batch = 1024;
    /// Queued inserts flushed per step of the insert queue.
    std::size_t queue_batch = 1024;
    /** Merkle updates applied per transaction. The upper nodes of a tree are rehashed once
        per batch, so larger batches are cheaper per update (about 100,000 updates/s at 4096
        on a 100,000-entry tree here) but hold the write lock longer (some 40 ms). */
    std::size_t merkle_batch = 4096;
};

/** A table of CRDT entries, partitioned by hash.

    Each entry is stored under `partition_hash(pk) ‖ sort_key_bytes(sk)` in the tree
    `<table_name>:table`, encoded with cereal. A write merges the new entry into the stored
    one (`crdt::merge`) inside one storage transaction that also appends its Merkle updates to
    `<name>:merkle_todo` (one record per transaction), runs the schema's `updated(tx, old, new)` hook, and, for a tombstone
    on the partition's first storage node, schedules its collection in `<name>:gc_todo`.
    Hooks may queue writes to other tables in that same transaction (@ref queue_insert); the
    queue is flushed by @ref flush_insert_queue.

    This is the node-local part of the table: every operation acts on this node's storage.
    The replicated reads and writes of the cluster layer are built on it, with `Replication`
    naming the nodes.

    @tparam Schema      Models @ref table_schema (keys, entry, filter, hooks).
    @tparam Replication Models @ref replication::replication_policy.
    @tparam Storage     Models @ref storage::storage_backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe; writes are serialised by the storage's
    single-writer transactions.

    @par Example
    @code
    auto db = storage::memory_backend{};
    auto t = table::table<my_schema, replication::local, storage::memory_backend>::open(
        my_schema{}, replication::local{}, db);
    (*t)->insert(my_entry{...});
    @endcode
*/
template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
class table {
public:
    using schema_type = Schema;
    using replication_type = Replication;
    using storage_type = Storage;
    using partition_key_type = typename Schema::partition_key_type;
    using sort_key_type = typename Schema::sort_key_type;
    using entry_type = typename Schema::entry_type;
    using filter_type = typename Schema::filter_type;
    using tree_type = typename Storage::tree_type;
    using transaction_type = typename Storage::transaction_type;
    using merkle_type = merkle_updater<Replication, Storage>;

    /** Opens (creating if needed) the table's five storage trees.
        @return The table, or the storage error that prevented opening a tree. */
    static util::result<std::unique_ptr<table>> open(Schema schema, Replication replication, Storage& db,
                                                      table_options options = {});

    table(table const&) = delete;
    table& operator=(table const&) = delete;

    /// The table's name (`Schema::table_name`).
    static constexpr std::string_view name() noexcept { return Schema::table_name; }

    /** The storage key of an entry: `partition_hash(pk) ‖ sort_key_bytes(sk)`. */
    static std::string tree_key(partition_key_type const& pk, sort_key_type const& sk);

    /** Merges `e` into the stored entry, in one transaction with its side effects.
        @return `error::key_too_long` if the key exceeds the storage's limit (nothing is
                written); a storage error (e.g. `storage::error::map_full`); or the error of
                the schema's hook. */
    util::result<void> insert(entry_type const& e);

    /// Merges every entry of `entries` in a single transaction (all or nothing).
    util::result<void> insert_many(std::span<entry_type const> entries);

    /** Merges `e` inside the caller's transaction (for hooks and multi-table writes). */
    util::result<void> insert_in(transaction_type& tx, entry_type const& e);

    /** Queues `e` for insertion, inside the caller's transaction (typically a hook of another
        table). Queued entries are merged with each other, then inserted by
        @ref flush_insert_queue. */
    util::result<void> queue_insert(transaction_type& tx, entry_type const& e);

    /** Reads one entry. @return nullopt if absent; `error::corrupt_entry` (naming the table and
        the key) if the stored bytes do not decode. */
    util::result<std::optional<entry_type>> get(partition_key_type const& pk, sort_key_type const& sk) const;

    /** Reads entries of one partition in sort-key order.
        @param pk        The partition.
        @param start     First sort key (inclusive); from the first (forward) or last (reverse) if absent.
        @param filter    Only entries for which `Schema::matches_filter(e, *filter)` holds.
        @param limit     At most this many entries.
        @param dir       `storage::direction::forward` or `reverse`. */
    util::result<std::vector<entry_type>> get_range(partition_key_type const& pk,
                                                    std::optional<sort_key_type> const& start,
                                                    std::optional<filter_type> const& filter, std::size_t limit,
                                                    storage::direction dir = storage::direction::forward) const;

    /// Inserts up to `options().queue_batch` queued entries. @return How many.
    util::result<std::size_t> flush_insert_queue();

    /** Collects up to `options().gc_batch` tombstones older than the GC delay, deleting each
        only if the stored value is still the tombstone that was scheduled. @return How many
        todo entries were handled. */
    util::result<std::size_t> gc_step();

    /// The Merkle trees of this table.
    merkle_type& merkle() noexcept { return merkle_; }
    merkle_type const& merkle() const noexcept { return merkle_; }

    /// Number of entries stored locally.
    util::result<std::size_t> len() const { return db_.len(trees_.store); }
    /// Number of queued inserts.
    util::result<std::size_t> insert_queue_len() const { return db_.len(trees_.insert_queue); }
    /// Number of scheduled tombstone collections.
    util::result<std::size_t> gc_todo_len() const { return db_.len(trees_.gc_todo); }

    /** Called after each commit that left Merkle work (to wake the Merkle worker).
        The callback must be cheap and thread-safe. */
    void on_merkle_todo(std::function<void()> f) { merkle_wakeup_ = std::move(f); }
    /// Called after each commit that queued inserts (to wake the queue worker).
    void on_queue_insert(std::function<void()> f) { queue_wakeup_ = std::move(f); }

    Schema& schema() noexcept { return schema_; }
    Replication const& replication() const noexcept { return replication_; }
    Storage& storage() noexcept { return db_; }
    table_options const& options() const noexcept { return options_; }

private:
    struct trees {
        tree_type store, merkle_tree, merkle_todo, insert_queue, gc_todo;
    };

    table(Schema schema, Replication replication, Storage& db, trees t, table_options options);

    util::result<void> insert_at(transaction_type& tx, std::string const& key, entry_type const& e,
                                 merkle_todo_batch& todo);
    util::result<std::optional<entry_type>> decode_at(std::string_view key, std::string_view bytes) const;
    util::failure key_error(std::string_view key, util::failure const& inner) const;
    util::result<void> check_key(std::string const& key) const;
    void notify_merkle() const
    {
        if (merkle_wakeup_) {
            merkle_wakeup_();
        }
    }

    [[no_unique_address]] Schema schema_;
    [[no_unique_address]] Replication replication_;
    Storage& db_;
    trees trees_;
    table_options options_;
    merkle_type merkle_;
    std::function<void()> merkle_wakeup_;
    std::function<void()> queue_wakeup_;
};

} // namespace garage::table

#include <garage/table/impl/table.hpp>
