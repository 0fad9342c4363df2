#pragma once
/** @file
    The storage policy: named ordered trees of byte strings, read and written in transactions.

    This is the C++ form of Garage's `garage_db` interface, made static: the table layer is
    a template over a `storage_backend`, and the two models are
    garage::storage::lmdb_backend (the default) and garage::storage::memory_backend
    (tests and examples). The valid expressions are listed in `docs/concepts/storage.md`.
*/

#include <garage/storage/detail/visitor.hpp>
#include <garage/storage/error.hpp>
#include <garage/util/error.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/** The `storage` layer: the @ref garage::storage::storage_backend concept (named ordered trees
    of byte strings, snapshots and atomic transactions) and its models `lmdb_backend` and
    `memory_backend`. Bazel target `//garage/storage`; see docs/concepts/storage.md.
*/
namespace garage::storage {

/// The order of an iteration: ascending keys or descending keys.
enum class direction {
    forward, ///< ascending keys, from the bound (inclusive) to the last key
    reverse, ///< descending keys, from the bound (inclusive) to the first key
};

/** The longest key, in bytes, that every backend accepts (LMDB's compiled-in limit).

    Keys are also never empty. Backends check both before writing anything and report
    `error::key_too_long` or `error::empty_key`; values have no such limit.
*/
inline constexpr std::size_t max_key_size = 511;

/** A visitor of an iteration: `bool(std::string_view key, std::string_view value)`.

    Returning `false` stops the iteration. The views are valid only during the call. An
    exception thrown by the visitor ends the iteration and propagates to the caller (the
    transaction it ran in is then aborted by `transact`).

    @tparam V The visitor type; it is called as a non-const lvalue.
*/
template <class V>
concept storage_visitor = detail::visitor<V>;

/** A handle to one named tree (an LMDB named database, a map in memory).

    A tree handle is a small value: copy it freely. It stays valid as long as the backend that
    opened it (or the backend it was moved into) lives.

    | expression | type | semantics |
    |---|---|---|
    | `t.name()` | convertible to `std::string_view` | the name given to `open_tree` |
*/
// clang-format off
template <class T>
concept storage_tree = std::copyable<T> && requires(T const& t) {
    { t.name() } -> std::convertible_to<std::string_view>;
};
// clang-format on

/** A transaction: reads and writes trees of one backend, atomically.

    A transaction object is created by the backend and lent to the function given to
    `transact` (read-write) or `read` (a read-only snapshot); it is never copied and does not
    outlive that call.

    | expression | type | semantics |
    |---|---|---|
    | `tx.get(t, k)` | `util::result<std::optional<std::string>>` | a copy of the value, or `nullopt` |
    | `tx.put(t, k, v)` | `util::result<void>` | inserts or replaces; `error::read_only` in a snapshot |
    | `tx.remove(t, k)` | `util::result<bool>` | `true` if the key existed |
    | `tx.len(t)` | `util::result<std::size_t>` | the number of keys |
    | `tx.for_each(t, start, d, f)` | `util::result<void>` | visits keys from `start` in direction `d` |

    Keys longer than `max_key_size` or empty are rejected by every operation
    (`error::key_too_long`, `error::empty_key`). A write transaction sees its own writes.

    `for_each`: forward visits the keys `>= *start` ascending (all keys if `start` is
    `nullopt`); reverse visits the keys `<= *start` descending (all keys if `nullopt`). The
    bound may be any byte string, of any length. The visitor may write to the transaction;
    whether the ongoing iteration sees those writes is unspecified.

    @tparam Tx   The transaction type.
    @tparam Tree The tree handle type, a `storage_tree`.
*/
// clang-format off
template <class Tx, class Tree>
concept storage_transaction = storage_tree<Tree> &&
    requires(Tx& tx, Tree const& t, std::string_view k, std::string_view v, std::optional<std::string_view> start,
             direction d, detail::visitor_archetype f) {
        { tx.get(t, k) } -> std::same_as<util::result<std::optional<std::string>>>;
        { tx.put(t, k, v) } -> std::same_as<util::result<void>>;
        { tx.remove(t, k) } -> std::same_as<util::result<bool>>;
        { tx.len(t) } -> std::same_as<util::result<std::size_t>>;
        { tx.for_each(t, start, d, f) } -> std::same_as<util::result<void>>;
    };
// clang-format on

/** A storage backend: a set of named trees with snapshot reads and serialized atomic writes.

    | expression | type | semantics |
    |---|---|---|
    | `B::tree_type` | a `storage_tree` | a tree handle |
    | `B::transaction_type` | a `storage_transaction` over `B::tree_type` | lent to `transact` and `read` |
    | `db.open_tree(name)` | `util::result<B::tree_type>` | opens or creates; idempotent; thread-safe |
    | `db.get(t, k)` | `util::result<std::optional<std::string>>` | in its own read-only snapshot |
    | `db.len(t)` | `util::result<std::size_t>` | in its own read-only snapshot |
    | `db.list_trees()` | `util::result<std::vector<std::string>>` | every tree name, sorted |
    | `db.transact(f)` | `std::invoke_result_t<F, B::transaction_type&>` | one write transaction (below) |
    | `db.read(f)` | `std::invoke_result_t<F, B::transaction_type&>` | one read-only snapshot (below) |
    | `db.for_each(t, start, d, f)` | `util::result<void>` | `tx.for_each` in a read-only snapshot |

    `transact(f)` calls `f(tx)` once; `f` returns a `util::result<R>`. The transaction commits
    if that result holds a value and aborts otherwise, and the result is returned, unless the
    commit itself fails (for example, the LMDB map is full): then that failure is returned. If
    `f` throws, the transaction aborts and the exception propagates. One write transaction
    runs at a time; others wait. Starting a second write transaction, or opening a new tree,
    on a thread that is inside `transact` fails with `error::busy` instead of deadlocking.

    `read(f)` calls `f(tx)` with a read-only snapshot: it sees the state committed before it
    began and nothing committed later (a tree created since is empty in it); `put` and
    `remove` fail with `error::read_only`.
    Snapshots never block writers, and writers never block snapshots.

    The member templates are checked here with archetypes (a non-copyable function returning
    `util::result<void>`, a non-copyable visitor); the full requirement holds for any `F`.

    @tparam B The backend type.
*/
// clang-format off
template <class B>
concept storage_backend =
    requires(B& db, B const& cdb, std::string_view name, typename B::tree_type const& t, std::string_view k) {
        typename B::tree_type;
        typename B::transaction_type;
        { db.open_tree(name) } -> std::same_as<util::result<typename B::tree_type>>;
        { db.get(t, k) } -> std::same_as<util::result<std::optional<std::string>>>;
        { db.len(t) } -> std::same_as<util::result<std::size_t>>;
        { db.list_trees() } -> std::same_as<util::result<std::vector<std::string>>>;
    } &&
    storage_transaction<typename B::transaction_type, typename B::tree_type> &&
    requires(B& db, typename B::tree_type const& t, std::optional<std::string_view> start, direction d,
             detail::visitor_archetype v,
             detail::transaction_function_archetype<typename B::transaction_type, util::result<void>> f) {
        { db.transact(f) } -> std::same_as<util::result<void>>;
        { db.read(f) } -> std::same_as<util::result<void>>;
        { db.for_each(t, start, d, v) } -> std::same_as<util::result<void>>;
    };
// clang-format on

} // namespace garage::storage
