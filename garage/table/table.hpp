#pragma once
/** @file
    `table<Schema, Replication, Storage>`: a table of CRDT entries.
*/

#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/error.hpp>
#include <garage/table/merkle.hpp>
#include <garage/table/schema.hpp>
#include <garage/table/detail/hash.hpp>
#include <garage/util/error.hpp>
#include <garage/util/write_capture.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
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
    /** How long the Merkle worker lets updates accumulate after it is woken, unless a full
        batch is already waiting. Each batch rewrites the upper nodes of a tree (kilobytes
        each) once, however many updates it holds: waiting a little turns a stream of small
        write transactions into a few large ones (the Merkle trees lag the table by at most this
        long; anti-entropy does not need them sooner). Zero applies updates as soon as they come. */
    std::chrono::milliseconds merkle_settle = std::chrono::milliseconds(500);
    /** How long the insert-queue worker lets queued inserts accumulate after it is woken (the
        same trade as `merkle_settle`: one flush transaction for the writes of many requests
        instead of one each; hooks' cascades, e.g. counters, reach their tables that much later). */
    std::chrono::milliseconds queue_settle = std::chrono::milliseconds(50);
};

/** A table of CRDT entries, partitioned by hash.

    Each entry is stored under `partition_hash(pk) ‖ sort_key_bytes(sk)` in the tree
    `<table_name>:table`, encoded with cereal. A write merges the new entry into the stored
    one (`crdt::merge`) inside one storage transaction that also appends its Merkle updates to
    `<name>:merkle_todo` (one record per transaction), runs the schema's
    `updated(tx, old, new)` hook, and, for a tombstone on the partition's first storage node,
    schedules its collection in `<name>:gc_todo_v2`. Hooks may queue writes to other tables in
    that same transaction (@ref queue_insert); the queue is flushed by @ref flush_insert_queue.

    This is the node-local part of the table: every operation acts on this node's storage.
    The replicated reads and writes of the cluster layer are built on it, with `Replication`
    naming the nodes.

    @tparam Schema      Models @ref garage::table::table_schema (keys, entry, filter, hooks).
    @tparam Replication Models @ref garage::replication::replication_policy.
    @tparam Storage     Models @ref garage::storage::storage_backend.

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
    docs/guide/build-your-own-store.md walks through a complete store.
*/
template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
class table {
public:
    using schema_type = Schema;                                     ///< the schema
    using replication_type = Replication;                           ///< the replication policy
    using storage_type = Storage;                                   ///< the storage backend
    using partition_key_type = typename Schema::partition_key_type; ///< the partition key
    using sort_key_type = typename Schema::sort_key_type;           ///< the sort key
    using entry_type = typename Schema::entry_type;                 ///< the stored CRDT
    using filter_type = typename Schema::filter_type;               ///< the range-read filter
    using tree_type = typename Storage::tree_type;                  ///< the storage's tree handle
    using transaction_type = typename Storage::transaction_type;    ///< the storage's transaction
    using merkle_type = merkle_updater<Replication, Storage>;       ///< the Merkle trees' updater

    /** Opens (creating if needed) the table's five storage trees: `<name>:table`,
        `<name>:merkle_tree`, `<name>:merkle_todo`, `<name>:insert_queue` and `<name>:gc_todo_v2`.
        @param schema      The schema object; its `updated` hook, if any, is called on it.
        @param replication The replication policy.
        @param db          The storage; it must outlive the table.
        @param options     Tunables (GC delay, batch sizes).
        @return The table, or the storage error that prevented opening a tree. */
    static util::result<std::unique_ptr<table>> open(Schema schema, Replication replication, Storage& db,
                                                     table_options options = {});

    table(table const&) = delete;
    table& operator=(table const&) = delete;

    /// @return The table's name (`Schema::table_name`).
    static constexpr std::string_view name() noexcept { return Schema::table_name; }

    /** The storage key of an entry.
        @param pk The partition key.
        @param sk The sort key.
        @return `partition_hash(pk) ‖ sort_key_bytes(sk)`. */
    static std::string tree_key(partition_key_type const& pk, sort_key_type const& sk);

    /** Merges `e` into the stored entry, in one transaction with its side effects.
        @param e The entry (typically a new version of one read with @ref get).
        @return Nothing on success (also when the merge changes nothing); `error::key_too_long`
                if the key exceeds the storage's limit (nothing is written); a storage error
                (e.g. `storage::error::map_full`); or the error of the schema's hook. */
    util::result<void> insert(entry_type const& e);

    /** Merges every entry of `entries` in a single transaction (all or nothing), with one
        Merkle todo record for the whole batch.
        @param entries The entries, in any order (they are applied in key order).
        @return Nothing; or the first failure, as for @ref insert, and nothing is written. */
    util::result<void> insert_many(std::span<entry_type const> entries);

    /** As @ref insert_many, inside the caller's transaction (e.g. a batch of a
        `storage::group_committer`), with one Merkle todo record for these entries; the Merkle
        worker is woken before the caller commits.
        @param tx A write transaction of the table's storage.
        @param entries The entries, in any order.
        @return As @ref insert_many; a failure should abort the caller's transaction. */
    util::result<void> insert_many_in(transaction_type& tx, std::span<entry_type const> entries);

    /** Merges `e` inside the caller's transaction (for hooks and multi-table writes).

        Called from a hook of this same table's write, the update joins that write's Merkle
        todo record (so that it is applied after the write's own updates); otherwise it is
        recorded on its own and the Merkle worker is woken (before the caller commits).
        @param tx A write transaction of the table's storage (from `storage().transact`).
        @param e  The entry.
        @return As @ref insert; a failure should abort the caller's transaction. */
    util::result<void> insert_in(transaction_type& tx, entry_type const& e);

    /** Queues `e` for insertion, inside the caller's transaction (typically a hook of another
        table). Queued entries are merged with each other, then inserted by
        @ref flush_insert_queue.
        @param tx A write transaction of the table's storage.
        @param e  The entry.
        @return Nothing; `error::key_too_long`, `error::corrupt_entry` or a storage error. */
    util::result<void> queue_insert(transaction_type& tx, entry_type const& e);

    /** Reads one entry.
        @param pk The partition key.
        @param sk The sort key.
        @return The entry, or `nullopt` if absent; `error::corrupt_entry` (naming the table and
        the key) if the stored bytes do not decode. */
    util::result<std::optional<entry_type>> get(partition_key_type const& pk, sort_key_type const& sk) const;

    /** Reads entries of one partition in sort-key order.
        @param pk        The partition.
        @param start     First sort key (inclusive); from the first (forward) or last (reverse) if absent.
        @param filter    Only entries for which `Schema::matches_filter(e, *filter)` holds.
        @param limit     At most this many entries.
        @param dir       `storage::direction::forward` or `reverse`.
        @return The entries, in the order of `dir`; `error::corrupt_entry` if one does not
        decode. Tombstones are returned too unless the filter excludes them. */
    util::result<std::vector<entry_type>>
    get_range(partition_key_type const& pk, std::optional<sort_key_type> const& start,
              std::optional<filter_type> const& filter, std::size_t limit,
              storage::direction dir = storage::direction::forward) const;

    /** Counts the entries of one partition that pass a filter, inside the caller's
        transaction (so that the count and what the caller writes next are consistent: the
        block reference recount of `garage repair block-rc`).
        @param tx     A transaction of the table's storage (read-only or write).
        @param pk     The partition.
        @param filter Only entries for which `Schema::matches_filter(e, filter)` holds.
        @return The number of entries; `error::corrupt_entry` if one does not decode; a storage error. */
    util::result<std::size_t> count_in(transaction_type& tx, partition_key_type const& pk,
                                       filter_type const& filter) const;

    /// Inserts up to `options().queue_batch` queued entries, in one transaction. @return How many.
    util::result<std::size_t> flush_insert_queue();

    /** Collects up to `options().gc_batch` tombstones older than the GC delay, deleting each
        only if the stored value is still the tombstone that was scheduled. @return How many
        todo entries were handled. */
    util::result<std::size_t> gc_step();

    /// @name Encoded access, for the cluster layer (replicated reads and writes, sync, GC)
    /// Entries travel between nodes in their stored form (cereal, @ref garage::util::encode).
    /// @{

    /** One key and its stored bytes. */
    using encoded_item = std::pair<std::string, std::string>;

    /** The hash that sync and GC compare: of an entry's stored bytes (as in its Merkle leaf).
        @param bytes The stored form of an entry.
        @return Its hash. */
    static util::hash32 value_hash(std::string_view bytes) { return detail::merkle_hash(bytes); }

    /** Reads the stored bytes of one entry.
        @param key The storage key (@ref tree_key).
        @return The bytes, or `nullopt` if absent; a storage error. */
    util::result<std::optional<std::string>> get_encoded(std::string_view key) const;

    /** @ref get_range by partition hash, returning each entry's key and stored bytes.
        @param phash    The partition hash (`partition_hash(pk)`).
        @param start_sk The bytes of the first sort key (`sort_key_bytes(sk)`); absent: from the first
                        (forward) or last (reverse).
        @param filter   If not null, only entries that pass it.
        @param limit    At most this many items.
        @param dir      The direction.
        @return The items in the order of `dir`; `error::corrupt_entry` if one does not decode. */
    util::result<std::vector<encoded_item>> get_range_encoded(util::hash32 const& phash,
                                                              std::optional<std::string> const& start_sk,
                                                              filter_type const* filter, std::size_t limit,
                                                              storage::direction dir) const;

    /** Merges entries received in their stored form (from another node), in one transaction.
        Every item is decoded first: one that does not decode refuses the whole batch, and
        nothing is written.
        @param items The encoded entries.
        @return Nothing; `error::invalid_entry` (nothing written); or a failure of @ref insert_many. */
    util::result<void> insert_encoded(std::span<std::string const> items);

    /** Decodes entries received in their stored form (from another node), for
        @ref insert_many or @ref insert_many_in.
        @param items The encoded entries.
        @return The entries; `error::invalid_entry` naming the first item that does not decode. */
    util::result<std::vector<entry_type>> decode_items(std::span<std::string const> items) const;

    /** Reads stored items in key order from `from` (inclusive) up to `to` (exclusive).
        @param from  The first key.
        @param to    The end (exclusive); absent: the end of the table.
        @param limit At most this many items.
        @return The items (key and stored bytes); a storage error. */
    util::result<std::vector<encoded_item>>
    scan_encoded(std::string_view from, std::optional<std::string> const& to, std::size_t limit) const;

    /** Deletes each entry whose stored bytes still hash to the given hash (GC's
        `DeleteIfEqualHash`, offload), running the `updated(old, nullptr)` hook, in one
        transaction; entries changed meanwhile, or absent, are left alone.
        @param items (storage key, value hash) pairs.
        @return How many entries were deleted; a storage or hook error (nothing deleted). */
    util::result<std::size_t>
    delete_if_equal_hash(std::span<std::pair<std::string, util::hash32> const> items);

    /** Reads up to `limit` queued inserts without removing them (the replicated flush).
        @param limit At most this many.
        @return The queued items (key and stored bytes), in key order. */
    util::result<std::vector<encoded_item>> insert_queue_peek(std::size_t limit) const;

    /** Removes queued inserts that still hold the given bytes (those merged into meanwhile stay).
        @param items Items returned by @ref insert_queue_peek.
        @return Nothing; a storage error. */
    util::result<void> insert_queue_remove_if_equal(std::span<encoded_item const> items);

    /** A scheduled tombstone collection (an item of `<name>:gc_todo_v2`). */
    struct gc_todo_item {
        std::string todo_key;    ///< its key in the todo tree (u64 BE time ‖ storage key)
        std::string key;         ///< the tombstone's storage key
        util::hash32 value_hash; ///< the hash of the tombstone's stored bytes when scheduled
    };

    /** Reads the scheduled collections whose GC delay has passed.
        @param now_msec The current time (`util::now_msec()`).
        @param limit    At most this many.
        @return The due items, oldest first; malformed todo keys are removed on the way. */
    util::result<std::vector<gc_todo_item>> gc_todo_due(std::uint64_t now_msec, std::size_t limit);

    /** Removes scheduled collections.
        @param todo_keys Their `todo_key`s.
        @return Nothing; a storage error. */
    util::result<void> gc_todo_remove(std::span<std::string const> todo_keys);
    /// @}

    /// @return The Merkle trees of this table.
    merkle_type& merkle() noexcept { return merkle_; }
    /// @return The Merkle trees of this table.
    merkle_type const& merkle() const noexcept { return merkle_; }

    /// @return The number of entries stored locally (tombstones included).
    util::result<std::size_t> len() const { return db_.len(trees_.store); }
    /// @return The number of queued inserts.
    util::result<std::size_t> insert_queue_len() const { return db_.len(trees_.insert_queue); }
    /// @return The number of scheduled tombstone collections.
    util::result<std::size_t> gc_todo_len() const { return db_.len(trees_.gc_todo); }

    /** Sets the function called after each commit that left Merkle work (to wake the Merkle
        worker; @ref spawn_workers sets it).
        @param f The callback; it must be cheap and thread-safe. */
    void on_merkle_todo(std::function<void()> f) { merkle_wakeup_ = std::move(f); }
    /** Sets the function called after each commit that queued inserts (to wake the queue
        worker; @ref spawn_workers sets it).
        @param f The callback; it must be cheap and thread-safe. */
    void on_queue_insert(std::function<void()> f) { queue_wakeup_ = std::move(f); }

    /// @return The schema object (the one whose `updated` hook is called).
    Schema& schema() noexcept { return schema_; }
    /// @return The replication policy.
    Replication const& replication() const noexcept { return replication_; }
    /// @return The storage backend.
    Storage& storage() noexcept { return db_; }
    /// @return The tunables given to @ref open.
    table_options const& options() const noexcept { return options_; }

private:
    struct trees {
        tree_type store, merkle_tree, merkle_todo, insert_queue, gc_todo;
    };

    table(Schema schema, Replication replication, Storage& db, trees t, table_options options);

    util::result<void> insert_at(transaction_type& tx, std::string const& key, entry_type const& e,
                                 merkle_todo_batch& todo);
    util::result<std::optional<entry_type>> decode_at(std::string_view key, std::string_view bytes) const;
    util::result<std::string> encode_at(std::string_view key, entry_type const& e) const;
    util::failure key_error(std::string_view key, util::failure const& inner) const;
    util::result<bool> delete_if_hash_in(transaction_type& tx, std::string_view key, std::string_view vhash,
                                         merkle_todo_batch& removed);
    template <class F>
    util::result<void> scan_partition(util::hash32 const& phash, std::optional<std::string> const& start_sk,
                                      filter_type const* filter, std::size_t limit, storage::direction dir,
                                      F&& out) const;
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
    /// The Merkle record of the write transaction this table is running, if any; @ref insert_in
    /// called from that write's hooks appends to it. Accessed only inside write transactions.
    merkle_todo_batch* open_batch_ = nullptr;
};

} // namespace garage::table

#include <garage/table/impl/table.hpp>
