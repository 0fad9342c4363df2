#pragma once
// The shopping-list store: its entry type and schema, written as a user of the framework would.
//
// Each list is a partition (its name is the partition key); each item is an entry sorted by its
// name. An item's fields are CRDTs, merged one by one (Boost.Describe), so that two people who
// edit the same list offline converge to the same list when their replicas meet:
//   - `quantity` is last-writer-wins: the latest change of quantity wins;
//   - `bought` is a flag: once someone bought it, it stays bought;
//   - `removed` is a flag too, and makes the item a tombstone that the table collects later.

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/flag.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/table/schema.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <string>

// Quantities merge inside `lww`: on equal timestamps the larger quantity wins.
template <>
inline constexpr bool garage::crdt::enable_auto_crdt<std::uint32_t> = true;

namespace shopping {

using namespace garage;

/// One line of a shopping list.
struct item {
    std::string list;                  ///< partition key: the list's name
    std::string name;                  ///< sort key: the item's name
    crdt::lww<std::uint32_t> quantity; ///< how many to buy; the latest change wins
    crdt::flag bought;                 ///< once bought, bought
    crdt::flag removed;                ///< removed from the list (a tombstone)

    std::string const& partition_key() const { return list; }
    std::string const& sort_key() const { return name; }
    bool is_tombstone() const { return removed.get(); }
    friend bool operator==(item const&, item const&) = default;
};
BOOST_DESCRIBE_STRUCT(item, (), (list, name, quantity, bought, removed))

/// What `show` filters on. Saved with cereal, so that a range read of the replicated table
/// (node.cpp) sends it to the storage nodes, which filter before answering.
struct item_filter {
    bool only_pending = false; ///< hide bought items

    /// Saves or loads the filter (cereal).
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(only_pending);
    }
};

/// The table schema: one partition per list, items sorted by name.
struct item_schema {
    static constexpr std::string_view table_name = "shopping_items";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = item;
    using filter_type = item_filter;
    static bool matches_filter(item const& i, item_filter const& f)
    {
        return !i.removed.get() && !(f.only_pending && i.bought.get());
    }
};

static_assert(table::table_schema<item_schema>);

} // namespace shopping
