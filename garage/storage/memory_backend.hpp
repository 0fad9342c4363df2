#pragma once
/** @file
    A storage backend in memory, with the semantics of @ref garage::storage::lmdb_backend:
    for tests, examples and embedded use.
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

    Models @ref storage_tree. A default-constructed handle refers to no tree: operations on it
    fail with @ref error::tree_not_found.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class memory_tree {
public:
    /// A handle to no tree.
    memory_tree() = default;

    /// The name given to @ref memory_backend::open_tree.
    std::string_view name() const noexcept { return name_; }

    /// True when both handles name the same tree.
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

    Models @ref storage_transaction, with the semantics of @ref lmdb_transaction. It works on
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

    /// Reads one value; see @ref lmdb_transaction::get.
    util::result<std::optional<std::string>> get(memory_tree const& tree, std::string_view key);
    /// Inserts or replaces one value; see @ref lmdb_transaction::put.
    util::result<void> put(memory_tree const& tree, std::string_view key, std::string_view value);
    /// Removes one key; `true` if it existed.
    util::result<bool> remove(memory_tree const& tree, std::string_view key);
    /// The number of keys in the tree.
    util::result<std::size_t> len(memory_tree const& tree);

    /** Visits keys in order from a bound; see @ref storage_transaction.
        The iteration runs over the tree as it was when `for_each` was called: writes made by
        the visitor are applied but not visited. */
    template <storage_visitor Visitor>
    util::result<void> for_each(memory_tree const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor)
    {
        return for_each_impl(tree, start, dir, detail::visitor_ref(visitor));
    }

    /// True for a snapshot given by @ref memory_backend::read.
    bool is_read_only() const noexcept { return mode_ == mode::read_only; }

private:
    friend class memory_backend;
    enum class mode { read_only, read_write };

    /// Takes a snapshot; in read-write mode, first waits for the writer lock.
    memory_transaction(detail::memory_state& state, mode m);
    util::result<void> for_each_impl(memory_tree const& tree, std::optional<std::string_view> start, direction dir,
                                     detail::visitor_ref visitor);
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

    Models @ref storage_backend with the semantics of @ref lmdb_backend: trees are ordered by
    bytes like LMDB's, keys are limited to @ref max_key_size bytes, one write transaction runs
    at a time, a snapshot sees exactly the commits made before it began, and a writer never
    blocks a reader. Each tree is a persistent (copy-on-write) treap, so taking a snapshot
    costs one reference count per tree and a write copies one path of the tree.

    Nothing is persisted; the trees vanish with the backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe, except that the backend must outlive, and
    must not be moved during, every call and every transaction.
*/
class memory_backend {
public:
    using tree_type = memory_tree;
    using transaction_type = memory_transaction;

    /// An empty backend.
    memory_backend();
    memory_backend(memory_backend&&) noexcept;
    memory_backend& operator=(memory_backend&&) noexcept;
    ~memory_backend();

    /// Opens a tree, creating it if absent; see @ref lmdb_backend::open_tree.
    util::result<tree_type> open_tree(std::string_view name);
    /// Reads one value in a snapshot of its own.
    util::result<std::optional<std::string>> get(tree_type const& tree, std::string_view key) const;
    /// The number of keys in a tree, in a snapshot of its own.
    util::result<std::size_t> len(tree_type const& tree) const;
    /// The names of every tree, sorted.
    util::result<std::vector<std::string>> list_trees() const;

    /// Runs `f` in a write transaction; see @ref lmdb_backend::transact.
    template <class F>
    requires std::invocable<F, memory_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
    auto transact(F&& f) -> std::invoke_result_t<F, transaction_type&>;

    /// Runs `f` in a read-only snapshot; see @ref lmdb_backend::read.
    template <class F>
    requires std::invocable<F, memory_transaction&> &&
        detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
    auto read(F&& f) const -> std::invoke_result_t<F, transaction_type&>;

    /// @ref memory_transaction::for_each in a snapshot of its own.
    template <storage_visitor Visitor>
    util::result<void> for_each(tree_type const& tree, std::optional<std::string_view> start, direction dir,
                                Visitor&& visitor) const;

private:
    util::result<void> check_not_writing() const;

    std::unique_ptr<detail::memory_state> state_;
};

} // namespace garage::storage

#include <garage/storage/impl/memory_backend.hpp>
