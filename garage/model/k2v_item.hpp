#pragma once
/** @file
    The K2V item table (`k2v_item`): per bucket, triplets (partition key, sort key, values),
    each item a DVVS (dotted version vector set) that keeps concurrent values as siblings;
    and its index counter, `k2v_index_counter_v2` (reference §4, §6.5).
*/

#include <garage/model/concepts.hpp>
#include <garage/model/k2v_causality.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::model {

/** The partition key of a K2V item: a bucket and a user partition key (Garage's
    `K2VItemPartition`). Its hash is BLAKE2b-512 of `bucket_id ‖ partition_key`, truncated to
    32 bytes. */
struct k2v_item_partition {
    util::uuid bucket_id;      ///< the bucket
    std::string partition_key; ///< the user's partition key (UTF-8)

    /// @return The 32-byte hash that places the partition.
    util::hash32 partition_hash() const;

    /// Ordered by bucket, then partition key.
    friend auto operator<=>(k2v_item_partition const&, k2v_item_partition const&) = default;
    /// Equal when both fields are equal.
    friend bool operator==(k2v_item_partition const&, k2v_item_partition const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("bucket_id", bucket_id), cereal::make_nvp("partition_key", partition_key));
    }
};

/** One value of a DVVS: bytes, or `nullopt` for a deletion (Garage's `DvvsValue`). */
using dvvs_value = std::optional<std::string>;

/** The values one node wrote to an item (Garage's `DvvsEntry`): the values written at times
    above `t_discard`, in time order. Values at or below `t_discard` were seen and superseded.

    Merge: the larger `t_discard`, discard what it covers, then append the other side's values
    later than every local one (a node's values form one growing sequence). */
struct dvvs_entry {
    std::uint64_t t_discard = 0;                              ///< values up to this time are superseded
    std::vector<std::pair<std::uint64_t, dvvs_value>> values; ///< (time, value), increasing times

    /// @return The latest time: of the last value, or `t_discard`.
    std::uint64_t max_time() const noexcept;
    /// Drops the values at or below `t_discard`.
    void discard();
    /** Merges another copy of the same node's entry. @param other The copy. */
    void merge(dvvs_entry const& other);

    /// Equal when both fields are equal.
    friend bool operator==(dvvs_entry const&, dvvs_entry const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("t_discard", t_discard), cereal::make_nvp("values", values));
    }
};

/** A K2V item (Garage's `K2VItem`): its keys and, per writing node, a @ref dvvs_entry.

    Its current values are the values of every node's entry (deduplicated); two or more are
    concurrent siblings. A write that carries the causal context of a read supersedes what
    that read returned; one without context adds a sibling. The item is a tombstone when
    every value is a deletion.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class k2v_item {
public:
    k2v_item() = default;
    /** An empty item. @param partition Its partition. @param sort_key Its sort key. */
    k2v_item(k2v_item_partition partition, std::string sort_key)
        : partition_(std::move(partition)), sort_key_(std::move(sort_key))
    {
    }

    /** Applies a write at node `node` (Garage's `K2VItem::update`): raises each node's
        discard time to the context's time, drops the values it covers, and appends `value`
        to `node`'s entry with time `max(max_time + 1, node_ts + 1)`.
        @param node     The node applying the write.
        @param context  The causal context the client sent, if any.
        @param value    The value, or nullopt for a deletion.
        @param node_ts  The node's current timestamp (at least its last one).
        @return The time given to the new value. */
    std::uint64_t update(k2v_node_id node, std::optional<causal_context> const& context, dvvs_value value,
                         std::uint64_t node_ts);

    /// @return The causal context of the item: for each node, its entry's latest time.
    causal_context context() const;

    /// @return The distinct current values, in node then time order (pointers into the item).
    std::vector<dvvs_value const*> values() const;

    /// @return Whether every current value is a deletion (also when there is none).
    bool is_tombstone() const;

    /** Merges another copy of the item. @param other The copy (same keys). */
    void merge(k2v_item const& other);

    /// @return The partition (bucket and partition key).
    k2v_item_partition const& partition_key() const noexcept { return partition_; }
    /// @return The sort key.
    std::string const& sort_key() const noexcept { return sort_key_; }
    /// @return The entries, by node.
    std::map<k2v_node_id, dvvs_entry> const& entries() const noexcept { return items_; }

    /// Equal when keys and entries are equal.
    friend bool operator==(k2v_item const&, k2v_item const&) = default;
    /** cereal: partition, sort key, entries. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("partition", partition_), cereal::make_nvp("sort_key", sort_key_),
           cereal::make_nvp("items", items_));
    }

private:
    k2v_item_partition partition_;
    std::string sort_key_;
    std::map<k2v_node_id, dvvs_entry> items_;
};

/** The filter of K2V range reads (Garage's `ItemFilter`). */
struct k2v_item_filter {
    bool exclude_only_tombstones = false; ///< leave out tombstones
    bool conflicts_only = false;          ///< keep only items with two or more values
};

/** Whether an item passes a filter (Garage's `matches_filter` of the item table).
    @param e An item. @param f A filter.
    @return False for a tombstone when tombstones are excluded, and for an item with fewer
            than two values when only conflicts are wanted; true otherwise. */
inline bool matches(k2v_item const& e, k2v_item_filter const& f)
{
    return !(f.conflicts_only && e.values().size() < 2) && !(f.exclude_only_tombstones && e.is_tombstone());
}

/** The `k2v_index_counter_v2` index counter: per bucket and partition key, the items that
    are not tombstones (`entries`), those with siblings (`conflicts`), the values that are
    not deletions (`values`) and their bytes (`bytes`). Models @ref garage::model::counter_definition. */
struct k2v_index_counter {
    /// Garage's table name.
    static constexpr std::string_view table_name = "k2v_index_counter_v2";
    using item_type = k2v_item;            ///< counts K2V items
    using partition_key_type = util::uuid; ///< the bucket id
    using sort_key_type = std::string;     ///< the K2V partition key

    static constexpr std::string_view entries = "entries";     ///< counter name
    static constexpr std::string_view conflicts = "conflicts"; ///< counter name
    static constexpr std::string_view values = "values";       ///< counter name
    static constexpr std::string_view bytes = "bytes";         ///< counter name

    /** @param i An item. @return Its bucket. */
    static util::uuid const& partition_key(k2v_item const& i) noexcept { return i.partition_key().bucket_id; }
    /** @param i An item. @return Its partition key. */
    static std::string const& sort_key(k2v_item const& i) noexcept { return i.partition_key().partition_key; }
    /** @param i An item. @return Its counts: entries, conflicts, values, bytes. */
    static std::array<counter_sample, 4> counts(k2v_item const& i);
};

/** Where the item table's hook reports each new state of an item (the poll notifier).

    | expression | type | meaning |
    |---|---|---|
    | `n.notify(item)` | (any) | `item` was just written; must be cheap and must not block |
*/
template <class N>
concept k2v_item_listener = requires(N& n, k2v_item const& i)
{
    n.notify(i);
};

/** The schema of the `k2v_item` table (partition: @ref k2v_item_partition; sort: the sort
    key). Hook, in the write's transaction: the item is counted into `Counter`, then
    `Listener` is told of its new state (this wakes the polls waiting on it).

    @tparam Counter  Models @ref garage::model::item_counter of @ref garage::model::k2v_item
                     (the index counter).
    @tparam Listener Models @ref garage::model::k2v_item_listener (the subscriptions).
*/
template <item_counter<k2v_item> Counter, k2v_item_listener Listener>
class k2v_item_schema {
public:
    /// Garage's table name.
    static constexpr std::string_view table_name = "k2v_item";
    using partition_key_type = k2v_item_partition;               ///< bucket and partition key
    using sort_key_type = std::string;                           ///< the sort key
    using entry_type = k2v_item;                                 ///< the entry
    using filter_type = k2v_item_filter;                         ///< tombstones and conflicts
    using transaction_type = typename Counter::transaction_type; ///< the hook's transaction

    /** @param counter The index counter. @param listener The notifier. Both outlive the table. */
    k2v_item_schema(Counter& counter, Listener& listener) noexcept
        : counter_(std::addressof(counter)), listener_(std::addressof(listener))
    {
    }

    /** @param e An item. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(k2v_item const& e, k2v_item_filter const& f) { return model::matches(e, f); }

    /** The hook: counts the change and notifies the listener.
        @param tx The write's transaction. @param old The item before, or null.
        @param now The item after, or null.
        @return The counter's error, which aborts the write. */
    util::result<void> updated(transaction_type& tx, k2v_item const* old, k2v_item const* now)
    {
        if (auto r = counter_->count(tx, old, now); !r) {
            return r;
        }
        if (now != nullptr) {
            listener_->notify(*now);
        }
        return {};
    }

private:
    Counter* counter_;
    Listener* listener_;
};

} // namespace garage::model
