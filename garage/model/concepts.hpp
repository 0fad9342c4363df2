#pragma once
/** @file
    The requirements the model's table hooks place on what they write to: an entry queue
    (another table), a block reference-count sink (the block manager), an item counter (an
    index counter), and the definition of a counter.

    The hooks of @ref garage::model::object_schema, @ref garage::model::version_schema, @ref
    garage::model::mpu_schema and @ref garage::model::block_ref_schema run inside the storage
    transaction of a write and cascade it to other tables through these interfaces, all in that
    same transaction. Naming the interfaces (rather than the concrete table types) keeps every
    schema usable on its own, with a fake in tests, and with any replication policy.
*/

#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <concepts>
#include <cstdint>
#include <ranges>
#include <string_view>
#include <utility>

namespace garage::model {

/** Something that queues entries of type `E` for insertion inside a transaction: a
    `table::table` whose `entry_type` is `E`, or a test double.

    | expression | type | meaning |
    |---|---|---|
    | `Q::transaction_type` | a type | the storage transaction the queue writes in |
    | `q.queue_insert(tx, e)` | `util::result<void>` | queues `e`, in `tx`; an error aborts `tx` |

    @tparam Q The queue type.
    @tparam E The entry type.
*/
template <class Q, class E>
concept entry_queue = requires
{
    typename Q::transaction_type;
}
&&requires(Q& q, typename Q::transaction_type& tx, E const& e)
{
    {
        q.queue_insert(tx, e)
        } -> std::same_as<util::result<void>>;
};

/** Where the block_ref table's hook reports block references that appear and disappear:
    the block manager's reference counts, or a test double.

    | expression | type | meaning |
    |---|---|---|
    | `s.incref(tx, h)` | `util::result<void>` | block `h` gained a live reference, in `tx` |
    | `s.decref(tx, h)` | `util::result<void>` | block `h` lost a live reference, in `tx` |

    Both run in the transaction of the block_ref write, so a count never disagrees with the
    table; an error aborts the write.

    @tparam S  The sink type (`block::block_manager<Storage>` in the server).
    @tparam Tx The storage transaction type.
*/
template <class S, class Tx>
concept block_rc_sink = requires(S& s, Tx& tx, util::hash32 const& h)
{
    {
        s.incref(tx, h)
        } -> std::same_as<util::result<void>>;
    {
        s.decref(tx, h)
        } -> std::same_as<util::result<void>>;
};

/// One named count of an item, as returned by a counter definition's `counts`.
using counter_sample = std::pair<std::string_view, std::int64_t>;

/** How the items of one table are counted into an index counter (Garage's `CountedItem`).

    | expression | type | meaning |
    |---|---|---|
    | `D::table_name` | convertible to `std::string_view` | the name of the counter table |
    | `D::item_type` | a type | the counted entry |
    | `D::partition_key_type` | @ref garage::table::partition_key | the counter's partition key |
    | `D::sort_key_type` | @ref garage::table::sort_key | the counter's sort key |
    | `D::partition_key(e)` | convertible to `partition_key_type const&` | where `e` is counted |
    | `D::sort_key(e)` | convertible to `sort_key_type const&` | where `e` is counted |
    | `D::counts(e)` | range of @ref garage::model::counter_sample | the counts `e` contributes |

    Every item of a partition must return the same counter names.

    @tparam D The definition type.
*/
template <class D>
concept counter_definition = requires
{
    {
        D::table_name
        } -> std::convertible_to<std::string_view>;
    typename D::item_type;
    typename D::partition_key_type;
    typename D::sort_key_type;
}
&&table::partition_key<typename D::partition_key_type>&& table::sort_key<typename D::sort_key_type>&&
    std::default_initializable<typename D::partition_key_type>&&
        std::default_initializable<typename D::sort_key_type>&& requires(typename D::item_type const& e)
{
    {
        D::partition_key(e)
        } -> std::convertible_to<typename D::partition_key_type const&>;
    {
        D::sort_key(e)
        } -> std::convertible_to<typename D::sort_key_type const&>;
    {
        D::counts(e)
        } -> std::ranges::input_range;
    requires std::convertible_to<std::ranges::range_reference_t<decltype(D::counts(e))>, counter_sample>;
};

/** Something that counts items of type `Item` inside the transaction that changes them:
    an @ref garage::model::index_counter, or a test double.

    | expression | type | meaning |
    |---|---|---|
    | `C::transaction_type` | a type | the storage transaction |
    | `c.count(tx, old, now)` | `util::result<void>` | adds `counts(now) - counts(old)`; either may be null |

    @tparam C    The counter type.
    @tparam Item The counted entry type.
*/
template <class C, class Item>
concept item_counter = requires
{
    typename C::transaction_type;
}
&&requires(C& c, typename C::transaction_type& tx, Item const* p)
{
    {
        c.count(tx, p, p)
        } -> std::same_as<util::result<void>>;
};

} // namespace garage::model
