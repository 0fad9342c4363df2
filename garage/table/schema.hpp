#pragma once
/** @file
    What a table stores: the `table_schema` concept and the key customization points.

    Garage's `TableSchema`, `PartitionKey`, `SortKey` and `Entry` traits become the concepts
    below. See docs/concepts/table_schema.md for the valid-expressions tables.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/hasher.hpp>

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

/** The `table` layer: @ref garage::table::table, tables of CRDT entries described by a @ref
    garage::table::table_schema, with their Merkle trees, insert queue, tombstone GC and
    background workers. Bazel target `//garage/table`; see docs/concepts/table_schema.md and
    docs/guide/build-your-own-store.md.
*/
namespace garage::table {

/** The key of tables whose entries all live in one partition (Garage's `EmptyKey`).

    Its partition hash is all zero and its sort-key bytes are empty.
*/
struct empty_key {
    /// Every empty key equals every other.
    friend constexpr bool operator==(empty_key, empty_key) noexcept { return true; }
    /// Every empty key is equivalent to every other.
    friend constexpr auto operator<=>(empty_key, empty_key) noexcept = default;
    /// cereal: nothing to save.
    template <class Archive>
    void serialize(Archive&)
    {
    }
};

namespace detail {

template <class T>
inline constexpr bool is_bytes32 = false;
template <class Tag>
inline constexpr bool is_bytes32<util::basic_bytes32<Tag>> = true;

struct partition_hash_fn {
    /// A key that knows its own hash: `k.partition_hash()`.
    template <class K>
    requires requires(K const& k)
    {
        {
            k.partition_hash()
            } -> std::same_as<util::hash32>;
    }
    util::hash32 operator()(K const& k) const { return k.partition_hash(); }
    /// Strings hash with BLAKE2b (Garage's `String::hash`).
    util::hash32 operator()(std::string const& k) const { return util::blake2sum(k); }
    /// 32-byte ids are their own hash (Garage's `FixedBytes32::hash`).
    template <class Tag>
    util::hash32 operator()(util::basic_bytes32<Tag> const& k) const noexcept
    {
        return util::hash32(k.array());
    }
    util::hash32 operator()(empty_key) const noexcept { return {}; }
};

struct sort_key_bytes_fn {
    /// A key that encodes itself: `k.sort_key_bytes()`, returning bytes that order as the key.
    template <class K>
    requires requires(K const& k)
    {
        {
            k.sort_key_bytes()
            } -> std::convertible_to<std::string_view>;
    }
    decltype(auto) operator()(K const& k) const { return k.sort_key_bytes(); }
    std::string_view operator()(std::string const& k) const noexcept { return k; }
    template <class Tag>
    std::string_view operator()(util::basic_bytes32<Tag> const& k) const noexcept
    {
        return k.view();
    }
    std::string_view operator()(empty_key) const noexcept { return {}; }
};

} // namespace detail

/** The 32-byte hash that places a partition key: decides the partition and the nodes.

    Customization: give the key a member `util::hash32 partition_hash() const`. Built in for
    `std::string` (BLAKE2b), `util::basic_bytes32` (identity) and @ref garage::table::empty_key
    (zero).
*/
inline constexpr detail::partition_hash_fn partition_hash{};

/** The bytes of a sort key; entries of a partition are ordered by these bytes.

    Customization: a member `sort_key_bytes() const` returning something convertible to
    `std::string_view`. Built in for `std::string`, `util::basic_bytes32` and @ref
    garage::table::empty_key.
*/
inline constexpr detail::sort_key_bytes_fn sort_key_bytes{};

/// A partition key: copyable, comparable and hashed by @ref garage::table::partition_hash.
template <class K>
concept partition_key = std::copyable<K> && std::equality_comparable<K> && requires(K const& k)
{
    {
        table::partition_hash(k)
        } -> std::same_as<util::hash32>;
};

/// A sort key: copyable and encoded by @ref garage::table::sort_key_bytes.
template <class K>
concept sort_key = std::copyable<K> && requires(K const& k)
{
    {
        table::sort_key_bytes(k)
        } -> std::convertible_to<std::string_view>;
};

/** A table entry: a CRDT that knows its keys.

    `e.is_tombstone()` is optional: an entry type without it never becomes a tombstone.
*/
template <class E, class P, class S>
concept entry = crdt::crdt<E> && std::default_initializable<E> && requires(E const& e)
{
    {
        e.partition_key()
        } -> std::convertible_to<P const&>;
    {
        e.sort_key()
        } -> std::convertible_to<S const&>;
};

/** A table schema.

    | expression | type | meaning |
    |---|---|---|
    | `S::table_name` | convertible to `std::string_view` | names the table and its storage trees |
    | `S::partition_key_type` | @ref garage::table::partition_key | hashed to place entries |
    | `S::sort_key_type` | @ref garage::table::sort_key | orders entries within a partition |
    | `S::entry_type` | @ref garage::table::entry | the stored CRDT, saved with cereal |
    | `S::filter_type` | any | the argument of range-read filters |
    | `S::matches_filter(e, f)` | `bool` | whether `e` passes filter `f` |
    | `s.updated(tx, old, new)` (optional) | `util::result<void>` | hook run in the write's transaction |
    | `e.is_tombstone()` (optional) | `bool` | the entry records a deletion, collected after the GC delay |

    `s` is the schema object given to `table::open` (the hook is a non-static member and may
    hold state, such as a pointer to another table), `tx` the storage backend's
    `transaction_type&`, `old` and `new` are `entry_type const*` (null when absent: `old` for
    a new key, `new` when GC deletes a tombstone). The hook runs only when the stored bytes
    change; a failure it returns aborts the whole write. It may write to other tables through
    `tx`, typically with `other_table.queue_insert(tx, entry)`. See
    docs/concepts/table_schema.md.
*/
template <class S>
concept table_schema = requires
{
    {
        S::table_name
        } -> std::convertible_to<std::string_view>;
    typename S::partition_key_type;
    typename S::sort_key_type;
    typename S::entry_type;
    typename S::filter_type;
}
&&partition_key<typename S::partition_key_type>&& sort_key<typename S::sort_key_type>&&
    entry<typename S::entry_type, typename S::partition_key_type, typename S::sort_key_type>&& requires(
        typename S::entry_type const& e, typename S::filter_type const& f)
{
    {
        S::matches_filter(e, f)
        } -> std::same_as<bool>;
};

/** Whether an entry is a tombstone.
    @tparam E An entry type.
    @param e The entry.
    @return `e.is_tombstone()`, or false for entry types without `is_tombstone()`. */
template <class E>
constexpr bool is_tombstone(E const& e)
{
    if constexpr (requires {
                      {
                          e.is_tombstone()
                          } -> std::convertible_to<bool>;
                  }) {
        return e.is_tombstone();
    } else {
        return false;
    }
}

/// A filter type for schemas that do not filter: matches everything.
struct no_filter {};

} // namespace garage::table
