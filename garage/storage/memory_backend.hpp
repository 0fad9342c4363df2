#pragma once
/** @file
    A storage backend in memory with the semantics of the LMDB backend, for tests, examples
    and embedded use.
*/

#include <garage/storage/concepts.hpp>

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace garage::storage {

namespace detail {
struct memory_node;
struct memory_state;

/// One version of one tree: the root of an immutable balanced tree shared by every snapshot
/// that sees this version, and its number of keys.
struct memory_root {
    std::shared_ptr<memory_node const> root;
    std::size_t size = 0;
};
} // namespace detail

/** A handle to one tree of a @ref memory_backend.

    Models `storage_tree`. A default-constructed handle refers to no tree: operations on it
    fail with `storage::error::tree_not_found`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class memory_tree {
public:
    /// A handle to no tree.
    memory_tree() = default;

    /** The name of the tree.
        @return The name given to @ref memory_backend::open_tree. */
    std::string_view name() const noexcept { return name_; }

    /** Compares two handles.
        @param a A handle.
        @param b Another handle.
        @return True when both handles name the same tree. */
    friend bool operator==(memory_tree const& a, memory_tree const& b) noexcept
    {
        return a.index_ == b.index_ && a.name_ == b.name_;
    }

private:
    friend class memory_backend;
    friend class memory_transaction;
    static constexpr std::size_t no_index = std::numeric_limits<std::size_t>::max();

    memory_tree(std::size_t index, std::string name) : index_(index), name_(std::move(name)) {}

    std::size_t index_ = no_index;
    std::string name_;
};

/** A transaction of a @ref memory_backend, read-write or a read-only snapshot.

    Models `storage_transaction`, with the semantics of @ref lmdb_transaction. It works on
    its own version of every tree (taken when it began; unchanged trees are shared, changed
    paths are copied), so that nothing it does is visible elsewhere before it commits, and
    aborting it is dropping that version.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe (use a transaction on one thread at a time).
*/
class memory_transaction {
public:
    memory_transaction(memory_transaction const&) = delete;
    memory_transaction& operator=(memory_transaction const&) = delete;
    ~memory_transaction();

    /** Reads one value; a write transaction sees its own writes.
        @param tree The tree.
        @param key  The key: not empty, at most `max_key_size` bytes.
        @return As @ref lmdb_transaction::get. */
    util::result<std::optional<std::string>> get(memory_tree const& tree, std::string_view key);

    /** Inserts or replaces one value.
        @param tree  The tree.
        @param key   The key: not empty, at most `max_key_size` bytes.
        @param value The value, of any size.
        @return As @ref lmdb_transaction::put. */
    util::result<void> put(memory_tree const& tree, std::string_view key, std::string_view value);

    /** Removes one key.
        @param tree The tree.
        @param key  The key.
        @return `true` if the key existed; `error::read_only` in a snapshot. */
    util::result<bool> remove(memory_tree const& tree, std::string_view key);

    /** Counts the keys of a tree.
        @param tree The tree.
        @return The number of keys. */
    util::result<std::size_t> len(memory_tree const& tree);

    /** Visits keys in order from a bound (see `storage_transaction`).

        The iteration runs over the tree as it was when `for_each` was called: writes made by
        the visitor are applied but not visited.
        @tparam Visitor A `storage_visitor`.
        @param tree    The tree.
        @param start   The first key (inclusive), or `nullopt` for the first or last key.
        @param dir     Ascending or descending keys.
        @param visitor Called as `bool(key, value)` until it returns `false`; its exceptions
                       propagate.
        @return Nothing, also when the visitor stopped early. */
    template <storage_visitor Visitor>
    util::result<void> for_each(memory_tree const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor)
    {
        return for_each_impl(tree, start, dir, detail::visitor_ref(visitor));
    }

    /** Tells a snapshot from a write transaction.
        @return True for a snapshot given by @ref memory_backend::read. */
    bool is_read_only() const noexcept { return mode_ == mode::read_only; }

private:
    friend class memory_backend;
    enum class mode { read_only, read_write };

    /// Takes a snapshot; in read-write mode, first waits for the writer lock.
    memory_transaction(detail::memory_state& state, mode m);
    util::result<void> for_each_impl(memory_tree const& tree, std::optional<std::string_view> start,
                                     direction dir, detail::visitor_ref visitor);
    util::result<detail::memory_root const*> find_root(memory_tree const& tree) const;
    util::result<detail::memory_root*> write_root(memory_tree const& tree);
    void commit();

    detail::memory_state* state_;
    mode mode_;
    bool holds_writer_lock_ = false;
    std::vector<detail::memory_root> roots_;
    std::vector<bool> changed_;
};

/** The storage backend in memory.

    Models `storage_backend` with the semantics of @ref lmdb_backend (trees are ordered by
    bytes like LMDB's, keys are limited to `max_key_size` bytes, one write transaction runs
    at a time, a snapshot sees exactly the commits made before it began, and a writer never
    blocks a reader). Each tree is a persistent (copy-on-write) treap, so taking a snapshot
    costs one reference count per tree and a write copies one path of the tree.

    Nothing is persisted; the trees vanish with the backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe, except that the backend must outlive, and
    must not be moved during, every call and every transaction.
*/
class memory_backend {
public:
    using tree_type = memory_tree;               ///< A handle to one tree.
    using transaction_type = memory_transaction; ///< Lent to the functions of `transact` and `read`.

    /// An empty backend.
    memory_backend();
    /** Takes over the trees of a backend; its tree handles stay valid.
        @param other The backend to take over; left empty (only destruction and assignment). */
    memory_backend(memory_backend&& other) noexcept;
    /** Drops this backend's trees and takes over another's.
        @param other The backend to take over; left empty (only destruction and assignment).
        @return `*this`. */
    memory_backend& operator=(memory_backend&& other) noexcept;
    ~memory_backend();

    /** Opens a tree, creating it if absent. Idempotent and thread-safe.
        @param name The tree's name: not empty, at most `max_key_size` bytes, no NUL byte.
        @return As @ref lmdb_backend::open_tree (there is no limit on the number of trees). */
    util::result<tree_type> open_tree(std::string_view name);

    /** Reads one value in a snapshot of its own.
        @param tree The tree.
        @param key  The key.
        @return As @ref memory_transaction::get. */
    util::result<std::optional<std::string>> get(tree_type const& tree, std::string_view key) const;

    /** Counts the keys of a tree in a snapshot of its own.
        @param tree The tree.
        @return The number of keys. */
    util::result<std::size_t> len(tree_type const& tree) const;

    /** Lists the trees.
        @return The names of every tree, sorted. */
    util::result<std::vector<std::string>> list_trees() const;

    /** Runs `f` in a write transaction and commits it if `f` returns a value.
        @tparam F A function `util::result<R>(transaction_type&)`.
        @param f Called once.
        @return As @ref lmdb_backend::transact (a commit cannot fail here). */
    template <class F>
    requires std::invocable<F, memory_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
    auto transact(F&& f) -> std::invoke_result_t<F, transaction_type&>;

    /** Runs `f` in a read-only snapshot.
        @tparam F A function `util::result<R>(transaction_type&)`.
        @param f Called once.
        @return The result of `f`. */
    template <class F>
    requires std::invocable<F, memory_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
    auto read(F&& f) const -> std::invoke_result_t<F, transaction_type&>;

    /** Visits keys in order from a bound, in a snapshot of its own.
        @tparam Visitor A `storage_visitor`.
        @param tree    The tree.
        @param start   The first key (inclusive), or `nullopt` for the first or last key.
        @param dir     Ascending or descending keys.
        @param visitor Called as `bool(key, value)` until it returns `false`.
        @return As @ref memory_transaction::for_each. */
    template <storage_visitor Visitor>
    util::result<void> for_each(tree_type const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor) const;

private:
    util::result<void> check_not_writing() const;

    std::unique_ptr<detail::memory_state> state_;
};

} // namespace garage::storage

#include <garage/storage/impl/memory_backend.hpp>
