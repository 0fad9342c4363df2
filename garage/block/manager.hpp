#pragma once
/** @file
    `block_manager<Storage>`: this node's content-addressed data blocks, their reference
    counts, the resync queue and scrub (Garage's `BlockManager`, reference §7).
*/

#include <garage/block/block.hpp>
#include <garage/block/error.hpp>
#include <garage/block/fetcher.hpp>
#include <garage/block/layout.hpp>
#include <garage/block/rc.hpp>
#include <garage/block/metrics.hpp>
#include <garage/block/store.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/write_capture.hpp>
#include <garage/util/error.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

/** The `block` layer: this node's content-addressed data blocks (Garage's `garage_block`).
    @ref garage::block::block_manager keeps the block files under the data directories (spread
    over them by a @ref garage::block::data_layout, compressed with zstd or plain, verified on
    every read), their reference counts and the resync queue in the metadata DB; its workers
    (@ref garage::block::spawn_workers) resync and scrub them. Bazel target `//garage/block`.
*/
namespace garage::block {

/** Settings of a @ref garage::block::block_manager (the `garage.toml` keys of the same names, and Garage's
    constants as defaults). */
struct block_options {
    /// The data directories (`data_dir`).
    std::vector<util::data_dir_config> data_dirs;
    /// Where `data_layout` (and the workers' `scrub_info`, `resync_cfg`) are kept.
    std::filesystem::path metadata_dir;
    /// The largest block `write_block` accepts (`block_size`); at most
    /// @ref garage::block::max_block_size.
    std::uint64_t block_size = std::uint64_t(1) << 20;
    /// zstd level for new blocks (`compression_level`); `nullopt` stores them plain.
    std::optional<int> compression_level = 1;
    /// fsync block files before renaming them and their folders after (`data_fsync`).
    bool data_fsync = false;
    /// How long a block stays after its last reference is dropped (`BLOCK_GC_DELAY`).
    std::chrono::milliseconds gc_delay = std::chrono::seconds(600);
    /// When a block newly referenced here, or read but missing, is checked for presence
    /// (Garage: twice the RPC timeout), so that a block the writer failed to send is fetched.
    std::chrono::milliseconds missing_block_delay = std::chrono::seconds(600);
    /// The first retry delay after a failed resync, doubled per failure up to 2^6 times
    /// (`RESYNC_RETRY_DELAY`).
    std::chrono::milliseconds resync_retry_delay = std::chrono::seconds(60);
    /// Blocks whose stored form (after compression) has at most this many bytes are kept in the
    /// metadata DB (tree `block_local_small`) instead of a file of their own
    /// (`small_block_max_size`); 0 keeps every block in a file, as Garage does. A small object
    /// then costs one metadata transaction and no file creation, folder or inode.
    std::uint64_t small_block_max_size = 0;
};

/// A block whose resync keeps failing (`garage block list-errors`).
struct resync_error_info {
    util::hash32 hash;               ///< the block
    std::uint64_t refcount = 0;      ///< its current reference count
    std::uint64_t error_count = 0;   ///< consecutive failed resyncs
    std::uint64_t last_try_msec = 0; ///< when the last one failed (Unix ms)
    std::uint64_t next_try_msec = 0; ///< when it is retried (Unix ms)

    /// Equal when every field is equal.
    friend bool operator==(resync_error_info const&, resync_error_info const&) = default;
};

/// What one call of @ref garage::block::block_manager::resync_step did.
enum class resync_outcome {
    processed, ///< a block was resynced (successfully or not: see `list_errors`)
    postponed, ///< the next block was in error back-off; it was moved to its retry time
    waiting,   ///< the next block is not due yet (`wait` says for how long)
    empty,     ///< the queue is empty
};

/// The result of @ref garage::block::block_manager::resync_step.
struct resync_step_result {
    resync_outcome outcome = resync_outcome::empty; ///< what was done
    std::chrono::milliseconds wait{0};              ///< for `waiting`: until the next item is due
    std::optional<util::hash32> hash;               ///< the block processed or postponed
};

/** This node's data blocks: files under the data directories, reference counts and the
    resync queue in the metadata DB.

    **Files.** A block is stored under its hash, in the directory the data layout gives (see
    @ref garage::block::block_store): compressed with zstd at `compression_level`, or plain. Every read
    verifies the block (plain: BLAKE2b equals the hash; compressed: every frame checksum and
    the hash of the decompressed bytes); a corrupt copy is renamed `.corrupted`, counted,
    queued for resync and reported as `error::corrupt_block`: bad data is never returned.

    **Reference counts** (tree `block_local_rc`, see @ref garage::block::rc_value) are changed by
    @ref incref and @ref decref inside the caller's transaction (the `block_ref` table's
    hook), so they commit or abort with the reference itself. When a count drops to zero the
    block becomes deletable `gc_delay` later, and a resync is queued for then.

    **Resync queue** (tree `block_local_resync_queue`, key `u64_be(when_msec) ‖ hash`, value
    the hash; failures in `block_local_resync_errors`, `hash → u64_be(errors) ‖
    u64_be(last_try)`). @ref resync_step takes the first due block and: deletes its files if
    its count is zero and due (after asking the @ref garage::block::block_fetcher to offload
    it, and re-checking the count and the files' age under the block's mutex); fetches it
    through the fetcher if it is referenced but missing and this node should store it; hands
    it over to the nodes that should store it and deletes the local copy if this node should
    not store it (@ref garage::block::block_fetcher::should_store, e.g. after a layout
    change). A failure is recorded and retried with exponential back-off.

    Blocking: every member function does file or DB I/O; call them from a thread pool.
    None may be called from inside a transaction of the same backend, except @ref incref
    and @ref decref, which must be.

    @tparam Storage Models @ref garage::storage::storage_backend (the metadata DB).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe; set the hooks (`set_rc_recount`,
    `on_resync_queued`) before sharing the object.

    @par Example
    @code
    auto mgr = block::block_manager<storage::lmdb_backend>::open(db, {
        .data_dirs = config.data_dir, .metadata_dir = config.metadata_dir}).value();
    auto h = util::blake2sum(chunk);
    mgr->write_block(h, chunk).value();
    db.transact([&](auto& tx) { return mgr->incref(tx, h); }).value();   // in the block_ref hook
    std::string back = mgr->read_block(h).value();
    @endcode
*/
template <storage::storage_backend Storage>
class block_manager {
public:
    /// The metadata DB's type.
    using storage_type = Storage;
    /// A tree of the metadata DB.
    using tree_type = typename Storage::tree_type;
    /// A transaction of the metadata DB (that of @ref incref and @ref decref).
    using transaction_type = typename Storage::transaction_type;
    /// Recounts the references of a block from the `block_ref` table, in a transaction.
    using rc_recount_function =
        std::function<util::result<std::uint64_t>(transaction_type&, util::hash32 const&)>;

    /// The tree of reference counts.
    static constexpr std::string_view rc_tree_name = "block_local_rc";
    /// The tree of the resync queue.
    static constexpr std::string_view resync_queue_tree_name = "block_local_resync_queue";
    /// The tree of resync failures.
    static constexpr std::string_view resync_errors_tree_name = "block_local_resync_errors";
    /// The tree of small blocks kept in the metadata DB: `hash → u8(compressed) ‖
    /// u64_be(written at, Unix ms) ‖ bytes`.
    static constexpr std::string_view small_tree_name = "block_local_small";

    /** Opens the block store: loads or makes the data layout (checking every directory's
        marker), and opens the three trees.
        @param db      The metadata DB; it must outlive the manager.
        @param options Directories and settings.
        @param fetcher How to reach other nodes; `nullptr` for a node alone
                       (@ref garage::block::null_block_fetcher).
        @return The manager; `error::invalid_options` (block size 0 or above
                @ref garage::block::max_block_size), errors of
                @ref garage::block::data_layout::load_or_initialize (`layout_mismatch` when a
                data directory is not the one remembered), or a storage error. */
    static util::result<std::unique_ptr<block_manager>>
    open(Storage& db, block_options options, std::unique_ptr<block_fetcher> fetcher = nullptr);

    block_manager(block_manager const&) = delete;
    block_manager& operator=(block_manager const&) = delete;

    // ---- blocks

    /** Stores `data` as the block `h` (its BLAKE2b hash, computed by the caller): compressed
        when `compression_level` is set, written to a temporary file then renamed. An existing
        compressed copy is kept; an existing plain one is replaced by a compressed one.
        @param h    The block's hash (not checked against `data`).
        @param data The plain bytes of the block.
        @return Success; `error::block_too_large` if `data` exceeds `block_size`; `error::no_space`;
                `error::io_error`. */
    util::result<void> write_block(util::hash32 const& h, std::string_view data);

    /** Stores a block as received from another node (plain or compressed), after verifying
        it against `h`.
        @param h   The block's hash.
        @param blk The block, plain or compressed.
        @return Success; `error::corrupt_block` if it does not match (nothing is written); as
                @ref write_block otherwise. */
    util::result<void> write_raw_block(util::hash32 const& h, data_block const& blk);

    /** Encodes `data` as a new block would be stored (compressed when `compression_level`
        is set and that makes it smaller).
        @param data The plain bytes. @return The block to store. */
    data_block encode(std::string_view data) const
    {
        return data_block::encode(data, options_.compression_level);
    }

    /** @param blk A block as it would be stored.
        @return True when it goes to the metadata DB (@ref block_options::small_block_max_size),
                so that @ref write_small_in can store it in the caller's transaction. */
    bool is_small(data_block const& blk) const noexcept
    {
        return blk.size() <= options_.small_block_max_size;
    }

    /** Stores an encoded block that the caller hashed itself (trusted, not verified): in the
        metadata DB when @ref is_small, else in a file.
        @param h The block's hash. @param blk The encoded block.
        @return As @ref write_block. */
    util::result<void> write_encoded(util::hash32 const& h, data_block const& blk);

    /** Stores a small block (@ref is_small) in the caller's transaction, so that the block and
        the metadata referencing it are committed at once.
        @param tx A write transaction of the metadata DB. @param h The block's hash.
        @param blk The encoded block. @return Storage errors. */
    util::result<void> write_small_in(transaction_type& tx, util::hash32 const& h, data_block const& blk);

    /** Reads and verifies block `h`.
        @param h The block's hash.
        @return The plain bytes; `error::block_not_found` if no copy is here (a resync is
                queued to fetch it if it is referenced); `error::corrupt_block` if the copy
                fails verification (it is renamed `.corrupted`, counted and queued for
                resync); `error::io_error`. */
    util::result<std::string> read_block(util::hash32 const& h);

    /** Reads and verifies block `h` as stored (for sending to another node).
        @param h The block's hash.
        @return The block, plain or compressed as stored; errors as @ref read_block. */
    util::result<data_block> read_raw_block(util::hash32 const& h);

    /** @param h The block's hash.
        @return True when a copy of the block is stored here (unverified). */
    bool has_block(util::hash32 const& h) const { return has_small(h) || store_.find(h).has_value(); }

    /** @param h The block's hash.
        @return True when the block is kept in the metadata DB (a small block). */
    bool has_small(util::hash32 const& h) const
    {
        auto v = db_.get(trees_.small, h.view());
        return v && v->has_value();
    }

    /// @return The number of small blocks kept in the metadata DB.
    util::result<std::size_t> small_len() const { return db_.len(trees_.small); }

    /** @param h The block's hash.
        @return Where the copy of the block that reads use is; `nullopt` if there is none. */
    std::optional<block_location> find_block(util::hash32 const& h) const { return store_.find(h); }

    // ---- reference counts

    /** Adds a reference to `h`, in the caller's transaction. When the count was zero, queues
        a check (after `missing_block_delay`) that the block is present.
        @param tx A write transaction of the metadata DB.
        @param h  The block's hash.
        @return Success; `error::corrupt_metadata` for a malformed stored count; storage errors. */
    util::result<void> incref(transaction_type& tx, util::hash32 const& h);

    /** Drops a reference to `h`, in the caller's transaction. When the count reaches zero the
        block becomes deletable at `now + gc_delay` and a resync is queued for then
        (`gc_delay` + 10 s, or `gc_delay` itself when that is shorter than 10 s).
        Dropping a reference that does not exist changes nothing.
        @param tx A write transaction of the metadata DB.
        @param h  The block's hash.
        @return As @ref incref. */
    util::result<void> decref(transaction_type& tx, util::hash32 const& h);

    /** @param h The block's hash.
        @return The block's reference count; `error::corrupt_metadata` or a storage error. */
    util::result<rc_value> get_rc(util::hash32 const& h) const;

    /// @return The number of entries of `block_local_rc`; a storage error.
    util::result<std::size_t> rc_len() const { return db_.len(trees_.rc); }

    /** Sets how references are recounted (from the `block_ref` table) before a block whose
        count is zero is deleted; a non-zero recount fixes the stored count and keeps the
        block. Without it the stored count is trusted.
        @param f Given a transaction and a block's hash, the number of references to it. */
    void set_rc_recount(rc_recount_function f) { recount_ = std::move(f); }

    /** Recounts the references of `h` with the recount function (@ref set_rc_recount) and
        fixes the stored count where it differs, in one transaction (Garage's
        `recalculate_rc`, for `garage repair block-rc`): a non-zero recount is stored as is
        (and, if the count was zero, a check that the block is here is queued after
        `missing_block_delay`); a zero recount makes the block deletable `gc_delay` from now
        and queues its resync for then, so that deletion keeps the normal GC delay.
        @param h The block's hash.
        @return Whether the stored count was wrong (and fixed); `error::invalid_options` if no
                recount function is set; `error::corrupt_metadata` or a storage error. */
    util::result<bool> recalculate_rc(util::hash32 const& h);

    // ---- resync

    /** Queues a resync of `h` in `delay` (its own transaction).
        @param h     The block's hash.
        @param delay How long from now.
        @return Success; storage errors. */
    util::result<void> put_to_resync(util::hash32 const& h, std::chrono::milliseconds delay);

    /** Resyncs the first due block of the queue (see the class description).
        @return What was done; storage errors. A failed resync of the block itself is not an
                error of the step: it is recorded (see @ref list_errors). */
    util::result<resync_step_result> resync_step();

    /// @return The number of queued resyncs; a storage error.
    util::result<std::size_t> resync_queue_len() const { return db_.len(trees_.queue); }
    /// @return The number of blocks whose last resync failed; a storage error.
    util::result<std::size_t> resync_errors_len() const { return db_.len(trees_.errors); }

    /// @return The blocks whose last resync failed, by hash; `error::corrupt_metadata` or a storage error.
    util::result<std::vector<resync_error_info>> list_errors() const;

    /** Forgets the back-off of a block in error and queues it now (`garage block
        retry-now`).
        @param h The block's hash.
        @return Success; `error::block_not_found` if it is not in error. */
    util::result<void> clear_backoff(util::hash32 const& h);

    /** Queues a resync check of each block of `hashes` in `delay`, in one transaction
        (`garage repair blocks` queues every block it finds this way).
        @param hashes The blocks' hashes.
        @param delay  How long from now.
        @return Success; storage errors. */
    util::result<void> put_to_resync_many(std::vector<util::hash32> const& hashes,
                                          std::chrono::milliseconds delay);

    /** Lists the blocks that have a reference count entry (tree `block_local_rc`: referenced,
        or unreferenced and not yet collected), in hash order.
        @param after List the hashes after this one (all from the start when absent).
        @param max   The most hashes returned.
        @return Up to `max` hashes; fewer only at the end of the tree; storage errors. */
    util::result<std::vector<util::hash32>> list_referenced(std::optional<util::hash32> const& after,
                                                            std::size_t max) const
    {
        return list_keys(trees_.rc, after, max);
    }

    /** Lists the small blocks kept in the metadata DB, in hash order.
        @param after List the hashes after this one (all from the start when absent).
        @param max   The most hashes returned.
        @return Up to `max` hashes; fewer only at the end of the tree; storage errors. */
    util::result<std::vector<util::hash32>> list_small(std::optional<util::hash32> const& after,
                                                       std::size_t max) const
    {
        return list_keys(trees_.small, after, max);
    }

    /** Replaces how this node reaches the others (@ref garage::block::block_fetcher), e.g.
        with the RPC fetcher of a @ref garage::block::block_exchange made after the manager.
        @param fetcher The new fetcher; `nullptr` sets a @ref garage::block::null_block_fetcher.
        @par Thread Safety
        Call before the resync workers start and before sharing the manager. */
    void set_fetcher(std::unique_ptr<block_fetcher> fetcher)
    {
        fetcher_ = fetcher ? std::move(fetcher) : std::make_unique<null_block_fetcher>();
    }

    /** Sets the function called after a resync is queued (to wake resync workers).
        @param f Must be cheap and thread-safe; it may be called from inside a transaction. */
    void on_resync_queued(std::function<void()> f) { resync_wakeup_ = std::move(f); }

    /** Tells when the (first) resync worker looks at the queue next even without a wake-up: an
        entry queued with a later due time then wakes nobody.
        @param msec Milliseconds since the epoch; the max while the worker is busy. */
    void set_resync_horizon(std::uint64_t msec) noexcept
    {
        resync_horizon_.store(msec, std::memory_order_release);
    }

    /** Counts block reads and writes (`block_bytes_read`, ...) in `m`; null stops counting.
        Set it before sharing the manager.
        @param m The metrics; they must outlive the manager. */
    void set_metrics(block_metrics const* m) noexcept { metrics_ = m; }

    // ---- scrub

    /** Checks the next block file of a scrub pass (@ref garage::block::block_store::scrub_step);
        a corrupt one is set aside and its resync queued at once.
        @param cursor The position of the pass; advanced past the file checked.
        @return What was done; an I/O error. */
    util::result<scrub_step_result> scrub_step(scrub_cursor& cursor);

    // ---- rebalance

    /** One step of a rebalance pass (`garage repair rebalance`,
        @ref garage::block::block_store::rebalance_step): moves block files into their primary
        directory and queues a resync (now) of each block whose misplaced copy was corrupt.
        When the walk ends, the layout's secondary locations are dropped (every block is now
        where the layout puts new ones) and the layout is saved to `metadata_dir`.
        @param cursor The position of the pass.
        @param max    The most block files met in one step.
        @return What was done; an I/O or storage error. */
    util::result<rebalance_step_result> rebalance_step(scrub_cursor& cursor, std::size_t max);

    /// @return The number of corrupt copies set aside since `open` (by reads and by scrub).
    std::uint64_t corruptions() const noexcept { return store_.corruptions() + small_corruptions_.load(); }

    // ---- access

    /// @return The block files.
    block_store& store() noexcept { return store_; }
    /// @return The data layout (a snapshot; a completed rebalance replaces it).
    std::shared_ptr<data_layout const> layout() const noexcept { return store_.layout(); }
    /// @return The settings.
    block_options const& options() const noexcept { return options_; }
    /// @return The metadata DB.
    Storage& storage() noexcept { return db_; }

private:
    struct trees {
        tree_type rc, queue, errors, small;
    };

    block_manager(Storage& db, block_options options, data_layout layout, trees t,
                  std::unique_ptr<block_fetcher> fetcher);

    /// The stored block `h`, checked; when `plain_out` is set and the block is compressed, its
    /// plain bytes go there (a plain block's are the returned block's bytes).
    util::result<data_block> read_verified(util::hash32 const& h, std::string* plain_out);
    util::failure corrupt_copy(util::hash32 const& h, block_location const& loc, util::failure const& why);
    util::result<void> queue_in(transaction_type& tx, util::hash32 const& h, std::uint64_t when_msec);
    util::result<void> put_to_resync_at(util::hash32 const& h, std::uint64_t when_msec);
    util::result<void> resync_block(util::hash32 const& h);
    util::result<void> delete_if_unneeded(util::hash32 const& h);
    util::result<void> delete_misplaced(util::hash32 const& h);
    util::result<std::vector<util::hash32>>
    list_keys(tree_type const& tree, std::optional<util::hash32> const& after, std::size_t max) const;
    util::result<std::optional<data_block>> read_small(util::hash32 const& h, std::string* plain_out);
    util::result<bool> delete_small_if_unneeded(util::hash32 const& h,
                                                std::optional<std::uint64_t>& retry_at);
    /// Wakes the resync workers for an entry due at `due_msec`, unless they look by then anyway.
    void notify_resync(std::uint64_t due_msec = 0) const
    {
        if (resync_wakeup_ && due_msec < resync_horizon_.load(std::memory_order_acquire)) {
            resync_wakeup_();
        }
    }

    Storage& db_;
    block_options options_;
    trees trees_;
    block_store store_;
    std::unique_ptr<block_fetcher> fetcher_;
    rc_recount_function recount_;
    std::function<void()> resync_wakeup_;
    // When the sleeping resync worker looks at the queue anyway (ms since the epoch; the max
    // while it works): an entry due later needs no wake-up (one per write of a new block was a
    // cross-thread signal inside the write transaction).
    std::atomic<std::uint64_t> resync_horizon_{std::numeric_limits<std::uint64_t>::max()};
    block_metrics const* metrics_ = nullptr;
    std::atomic<std::uint64_t> small_corruptions_{0};
    std::mutex busy_mutex_;
    std::set<std::string> busy_; // queue keys being resynced by some worker
};

} // namespace garage::block

#include <garage/block/impl/manager.hpp>
