#pragma once
/** @file
    The default storage backend: one LMDB environment, one named database per tree.
*/

#include <garage/storage/concepts.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct MDB_txn;

namespace garage::storage {

namespace detail {
struct lmdb_state;
} // namespace detail

/** How to open an LMDB environment (Garage's `metadata_dir`, `lmdb_map_size`,
    `metadata_fsync`). */
struct lmdb_options {
    /// The directory holding `data.mdb` and `lock.mdb`; created if absent.
    std::filesystem::path path;
    /// The largest size the database may grow to (`lmdb_map_size`), rounded down to 4096 bytes.
    std::uint64_t map_size = 1ull << 40;
    /// Flush to disk at every commit (`metadata_fsync`); otherwise the OS flushes when it likes.
    bool fsync = false;
    /// The most trees that can be opened.
    unsigned max_dbs = 100;
    /// The most concurrent read transactions (every thread that reads holds at most one at a time).
    unsigned max_readers = 2048;
};

/** A handle to one LMDB named database.

    Models `storage_tree`. A default-constructed handle refers to no tree: operations on it
    fail with `storage::error::tree_not_found`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class lmdb_tree {
public:
    /// A handle to no tree.
    lmdb_tree() = default;

    /** The name of the tree.
        @return The name given to @ref lmdb_backend::open_tree. */
    std::string_view name() const noexcept { return name_; }

    /** Compares two handles.
        @param a A handle.
        @param b Another handle.
        @return True when both handles name the same tree. */
    friend bool operator==(lmdb_tree const& a, lmdb_tree const& b) noexcept
    {
        return a.dbi_ == b.dbi_ && a.name_ == b.name_;
    }

private:
    friend class lmdb_backend;
    friend class lmdb_transaction;

    lmdb_tree(unsigned dbi, std::string name) : dbi_(dbi), name_(std::move(name)) {}

    unsigned dbi_ = 0; // 0 is LMDB's free-page database, never a named one
    std::string name_;
};

/** An LMDB transaction, read-write (in @ref lmdb_backend::transact) or a read-only snapshot
    (in @ref lmdb_backend::read).

    Models `storage_transaction`. The backend creates it and lends it to the caller's
    function; it cannot be copied or moved and must not be used after that function returns.
    After a write fails inside LMDB (for example `error::map_full`), the transaction is spoilt:
    every later operation, and the commit, return that first failure.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe (use a transaction on one thread at a time).
*/
class lmdb_transaction {
public:
    lmdb_transaction(lmdb_transaction const&) = delete;
    lmdb_transaction& operator=(lmdb_transaction const&) = delete;
    ~lmdb_transaction();

    /** Reads one value; a write transaction sees its own writes.
        @param tree The tree.
        @param key  The key: not empty, at most `max_key_size` bytes.
        @return A copy of the value, or `nullopt` when the key is absent; `error::key_too_long`
        or `error::empty_key` for a key that cannot be stored. */
    util::result<std::optional<std::string>> get(lmdb_tree const& tree, std::string_view key);

    /** Inserts or replaces one value.
        @param tree  The tree.
        @param key   The key: not empty, at most `max_key_size` bytes.
        @param value The value, of any size.
        @return Nothing; `error::read_only` in a snapshot; `error::key_too_long` or
        `error::empty_key` for a key that cannot be stored (nothing is written, and the
        transaction stays usable); `error::map_full` when the map is full. */
    util::result<void> put(lmdb_tree const& tree, std::string_view key, std::string_view value);

    /** Removes one key.
        @param tree The tree.
        @param key  The key.
        @return `true` if the key existed; `error::read_only` in a snapshot. */
    util::result<bool> remove(lmdb_tree const& tree, std::string_view key);

    /** Counts the keys of a tree.
        @param tree The tree.
        @return The number of keys. */
    util::result<std::size_t> len(lmdb_tree const& tree);

    /** Visits keys in order from a bound (see `storage_transaction`).
        @tparam Visitor A `storage_visitor`.
        @param tree    The tree.
        @param start   The first key (inclusive) to visit, or `nullopt` for the first (forward)
                       or last (reverse) key of the tree.
        @param dir     Ascending or descending keys.
        @param visitor Called as `bool(std::string_view key, std::string_view value)` for each
                       key until it returns `false`; its exceptions propagate.
        @return Nothing, also when the visitor stopped early; an LMDB failure. */
    template <storage_visitor Visitor>
    util::result<void> for_each(lmdb_tree const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor)
    {
        return for_each_impl(tree, start, dir, detail::visitor_ref(visitor));
    }

    /** Tells a snapshot from a write transaction.
        @return True for a snapshot given by @ref lmdb_backend::read. */
    bool is_read_only() const noexcept { return mode_ == mode::read_only; }

private:
    friend class lmdb_backend;
    enum class mode { read_only, read_write };

    lmdb_transaction(detail::lmdb_state& state, MDB_txn* txn, mode m) noexcept;
    util::result<void> for_each_impl(lmdb_tree const& tree, std::optional<std::string_view> start,
                                     direction dir, detail::visitor_ref visitor);
    util::result<void> usable(lmdb_tree const& tree) const;
    util::result<void> commit();
    util::failure spoil(util::failure f);

    detail::lmdb_state* state_;
    MDB_txn* txn_;
    mode mode_;
    std::optional<util::failure> spoilt_;
};

/** The storage backend over LMDB (through LMDB++): the default for `metadata_dir`.

    Models `storage_backend`. Each tree is an LMDB named database; tree handles are opened
    once and cached by name. Reads (`get`, `len`, `read`, `for_each`) use read-only
    transactions taken from a pool and renewed, so that a read allocates nothing but the
    value it returns. Writes are serialized by LMDB: one write transaction at a time.

    The environment is opened with `MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC`, and with
    `MDB_NOSYNC` unless @ref lmdb_options::fsync is set (so `metadata_fsync = false` trades
    the durability of the last commits on a machine crash for speed; a process crash loses
    nothing).

    Errors raised by LMDB (`lmdb::error`) are caught here and returned as failures whose
    message names the tree and the operation; a full map says to raise `lmdb_map_size`.

    An environment must be open at most once per process at a time (an LMDB rule: a second
    `open` of the same path in the same process breaks its locks).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe, except that the backend must outlive, and
    must not be moved during, every call and every transaction.

    @par Example
    @code
    auto db = storage::lmdb_backend::open({.path = "/var/lib/garage/meta/db.lmdb"}).value();
    auto objects = db.open_tree("object").value();
    auto r = db.transact([&](storage::lmdb_transaction& tx) -> util::result<void> {
        return tx.put(objects, "key", "value");
    });
    @endcode
*/
class lmdb_backend {
public:
    using tree_type = lmdb_tree;               ///< A handle to one named database.
    using transaction_type = lmdb_transaction; ///< Lent to the functions of `transact` and `read`.

    /** Opens (creating if needed) the environment in `options.path`.
        @param options Where and how; see @ref lmdb_options.
        @return The open backend; `error::io_error` when the directory or the environment cannot be opened
       (the message says why: on `ENOMEM`, that the virtual memory limit, `ulimit -v`, is below
        `lmdb_map_size`), `error::corrupt` when the files are not a valid database. */
    static util::result<lmdb_backend> open(lmdb_options options);

    /** Takes over an environment; its tree handles stay valid.
        @param other The backend to take over; left empty (only destruction and assignment). */
    lmdb_backend(lmdb_backend&& other) noexcept;
    /** Closes this environment and takes over another.
        @param other The backend to take over; left empty (only destruction and assignment).
        @return `*this`. */
    lmdb_backend& operator=(lmdb_backend&& other) noexcept;
    /// Closes the environment. No transaction may be running.
    ~lmdb_backend();

    /** Opens a tree, creating it if absent. Idempotent and thread-safe.
        @param name The tree's name: not empty, at most `max_key_size` bytes, no NUL byte.
        @return A handle, the same for every call with `name`; `error::invalid_tree_name` for an empty name, a
       name longer than
        `max_key_size` or one with a NUL byte; `error::too_many_trees` beyond
        @ref lmdb_options::max_dbs; `error::busy` when a new tree is opened from inside
        @ref transact on the same thread. */
    util::result<tree_type> open_tree(std::string_view name);

    /** Reads one value in a snapshot of its own.
        @param tree The tree.
        @param key  The key.
        @return As @ref lmdb_transaction::get; `error::busy` when no reader slot is free. */
    util::result<std::optional<std::string>> get(tree_type const& tree, std::string_view key) const;

    /** Counts the keys of a tree in a snapshot of its own.
        @param tree The tree.
        @return The number of keys. */
    util::result<std::size_t> len(tree_type const& tree) const;

    /** Lists the trees.
        @return The names of every tree in the environment (including trees of earlier runs),
        sorted. */
    util::result<std::vector<std::string>> list_trees() const;

    /** Runs `f` in a write transaction and commits it if `f` returns a value.

        @tparam F A function `util::result<R>(transaction_type&)`.
        @param f Called once as `f(transaction_type&)`, returning `util::result<R>`.
        @return The result of `f`; or, when `f` succeeded but the commit failed, that failure
        (`error::map_full`, `error::io_error`); or `error::busy` when called from inside
        `transact` on the same thread. If `f` throws, the transaction aborts and the exception
        propagates. */
    template <class F>
    requires std::invocable<F, lmdb_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, lmdb_transaction&>>
    auto transact(F&& f) -> std::invoke_result_t<F, transaction_type&>;

    /** Runs `f` in a read-only snapshot transaction.
        @tparam F A function `util::result<R>(transaction_type&)`.
        @param f Called once as `f(transaction_type&)`, returning `util::result<R>`.
        @return The result of `f`, or `error::busy` when no reader slot is free. */
    template <class F>
    requires std::invocable<F, lmdb_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, lmdb_transaction&>>
    auto read(F&& f) const -> std::invoke_result_t<F, transaction_type&>;

    /** Visits keys in order from a bound, in a snapshot of its own.
        @tparam Visitor A `storage_visitor`.
        @param tree    The tree.
        @param start   The first key (inclusive), or `nullopt` for the first or last key.
        @param dir     Ascending or descending keys.
        @param visitor Called as `bool(key, value)` until it returns `false`.
        @return As @ref lmdb_transaction::for_each. */
    template <storage_visitor Visitor>
    util::result<void> for_each(tree_type const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor) const;

    /** Flushes every commit to disk (useful with `fsync = false`, e.g. before a snapshot).
        @return Nothing, or `error::io_error`. */
    util::result<void> sync();

    /** The options of the environment.
        @return The options it was opened with (`map_size` rounded down to 4096). */
    lmdb_options const& options() const noexcept;

private:
    explicit lmdb_backend(std::unique_ptr<detail::lmdb_state> state) noexcept;
    util::result<MDB_txn*> begin_write();
    util::result<MDB_txn*> begin_read() const;

    std::unique_ptr<detail::lmdb_state> state_;
};

} // namespace garage::storage

#include <garage/storage/impl/lmdb_backend.hpp>
