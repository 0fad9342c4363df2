#pragma once
/** @file
    Index counters (Garage's `index_counter.rs`): per-partition counts of a table's items,
    such as the objects, unfinished uploads and bytes of each bucket.

    Each node keeps its own counts of the items it stores in a local tree,
    `local_counter_v2:<counter table>`, updated in the same transaction as the counted item by
    adding the difference of the item's counts before and after the write. After each change it
    queues its counts, stamped with its node id, into a replicated counter table
    (`bucket_object_counter`, ...) whose entries keep one value per node. A read takes the
    maximum over the nodes that currently store the partition: the counts are eventually
    consistent, and exact once every replica has seen every write.
*/

#include <garage/crdt/map.hpp>
#include <garage/model/concepts.hpp>
#include <garage/model/types.hpp>
#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/table.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/string.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace garage::model {

/** One node's value of one counter, stamped with the time of its last change. Merge: the
    later timestamp wins; equal timestamps keep the larger value (a deterministic tie-break:
    one node never writes two values with one timestamp). */
struct node_count {
    std::uint64_t timestamp = 0; ///< milliseconds since the Unix epoch of the last change
    std::int64_t value = 0;      ///< the count

    /** Merges another value of the same node's counter.
        @param other The value to merge in. */
    constexpr void merge(node_count const& other) noexcept
    {
        if (other.timestamp > timestamp || (other.timestamp == timestamp && other.value > value)) {
            *this = other;
        }
    }
    /// Equal when both fields are equal.
    friend constexpr bool operator==(node_count const&, node_count const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("ts", timestamp), cereal::make_nvp("v", value));
    }
};

/** An entry of a counter table (Garage's `CounterEntry`): for one (partition, sort key), every
    counter's value on every node.

    Merge: per counter and per node, the later value. The keys of two copies of an entry are
    equal by construction and are not merged. The entry is a tombstone when every value of
    every node is zero.

    @tparam Def Models @ref garage::model::counter_definition.
*/
template <counter_definition Def>
struct counter_entry {
    using partition_key_type = typename Def::partition_key_type; ///< the counter's partition key
    using sort_key_type = typename Def::sort_key_type;           ///< the counter's sort key
    using node_values = crdt::map<util::node_id, node_count>;    ///< one counter, by node

    partition_key_type pk;                      ///< the partition counted
    sort_key_type sk;                           ///< the sort key counted
    crdt::map<std::string, node_values> values; ///< every counter, by name

    /// @return The partition key.
    partition_key_type const& partition_key() const noexcept { return pk; }
    /// @return The sort key.
    sort_key_type const& sort_key() const noexcept { return sk; }
    /// @return Whether every value of every node is zero.
    bool is_tombstone() const noexcept;

    /** One counter: the maximum of the values of all nodes.
        @param name The counter.
        @return Its value, or nullopt if no node has a value. */
    std::optional<std::int64_t> get(std::string_view name) const;

    /** One counter: the maximum of the values of some nodes (the storage nodes of the
        partition in the current layout, as Garage reads it).
        @param name  The counter.
        @param nodes The nodes whose values count.
        @return Its value, or nullopt if none of those nodes has a value. */
    template <replication::node_range Nodes>
    std::optional<std::int64_t> get(std::string_view name, Nodes const& nodes) const;

    /** Merges another copy of the entry.
        @param other The copy to merge in. */
    void merge(counter_entry const& other) { crdt::merge(values, other.values); }

    /// Equal when keys and values are equal.
    friend bool operator==(counter_entry const&, counter_entry const&) = default;

    /** cereal: partition key, sort key, values.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("pk", pk), cereal::make_nvp("sk", sk), cereal::make_nvp("values", values));
    }
};

/** The schema of a counter table named `Def::table_name` (sharded; keys of `Def`).
    @tparam Def Models @ref garage::model::counter_definition. */
template <counter_definition Def>
struct counter_schema {
    /// The counter table's name.
    static constexpr std::string_view table_name = Def::table_name;
    using partition_key_type = typename Def::partition_key_type; ///< the counter's partition key
    using sort_key_type = typename Def::sort_key_type;           ///< the counter's sort key
    using entry_type = counter_entry<Def>;                       ///< the entry
    using filter_type = deleted_filter;                          ///< deleted: all values zero

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(entry_type const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_tombstone());
    }
};

/** The index counter of one kind of item (Garage's `IndexCounter`): the node-local counts and
    the replicated counter table. Models @ref garage::model::item_counter for `Def::item_type`.

    @tparam Def         Models @ref garage::model::counter_definition.
    @tparam Replication Models @ref garage::replication::replication_policy; its `local_node()` stamps
                        this node's values.
    @tparam Storage     Models @ref garage::storage::storage_backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: `count` runs in the caller's write transaction,
    which the storage serialises; reads are safe.
*/
template <counter_definition Def, replication::replication_policy Replication,
          storage::storage_backend Storage>
class index_counter {
public:
    using definition_type = Def;                                                ///< the definition
    using item_type = typename Def::item_type;                                  ///< the counted entry
    using entry_type = counter_entry<Def>;                                      ///< a counter entry
    using table_type = table::table<counter_schema<Def>, Replication, Storage>; ///< the counter table
    using transaction_type = typename Storage::transaction_type;                ///< the storage transaction
    using partition_key_type = typename Def::partition_key_type; ///< the counter's partition key
    using sort_key_type = typename Def::sort_key_type;           ///< the counter's sort key

    /** Opens the local tree `local_counter_v2:<name>` and the counter table.
        @param replication The counter table's replication; `local_node()` names this node.
        @param db          The storage.
        @param options     The counter table's options.
        @return The counter, or the storage error. */
    static util::result<std::unique_ptr<index_counter>> open(Replication replication, Storage& db,
                                                             table::table_options options = {});

    index_counter(index_counter const&) = delete;
    index_counter& operator=(index_counter const&) = delete;

    /** Counts a change of an item, in the transaction that writes it: adds `counts(now) -
        counts(old)` to this node's local counts and queues them into the counter table.
        Nothing is written when no count changes.
        @param tx  The write's transaction.
        @param old The item before the write, or null.
        @param now The item after the write, or null. At least one is not null.
        @return A storage error, or `error::corrupt_counter`; either aborts the write. */
    util::result<void> count(transaction_type& tx, item_type const* old, item_type const* now);

    /** Reads a counter entry of the replicated table (local copy).
        @param pk The partition. @param sk The sort key.
        @return The entry, nullopt if absent, or a storage error. */
    util::result<std::optional<entry_type>> get(partition_key_type const& pk, sort_key_type const& sk) const
    {
        return table_->get(pk, sk);
    }

    /** Reads this node's local counts.
        @param pk The partition. @param sk The sort key.
        @return The local entry (this node's values only), nullopt if absent, or an error. */
    util::result<std::optional<entry_type>> get_local(partition_key_type const& pk,
                                                      sort_key_type const& sk) const;

    /// @return The replicated counter table.
    table_type& counter_table() noexcept { return *table_; }
    /// @return The replicated counter table.
    table_type const& counter_table() const noexcept { return *table_; }

    /// @return The name of the local tree: `local_counter_v2:` and the table name.
    static std::string local_tree_name() { return "local_counter_v2:" + std::string(Def::table_name); }

private:
    using tree_type = typename Storage::tree_type;

    index_counter(Storage& db, tree_type local, std::unique_ptr<table_type> t, util::node_id node)
        : db_(db), local_(std::move(local)), table_(std::move(t)), node_(node)
    {
    }

    util::result<entry_type> decode_local(std::string_view key, std::string_view bytes) const;

    Storage& db_;
    tree_type local_;
    std::unique_ptr<table_type> table_;
    util::node_id node_;
};

} // namespace garage::model

#include <garage/model/impl/counter.hpp>
