#pragma once
/** @file
    `map<K, V>`: a grow-only map whose values are CRDTs merged key by key.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/detail/sorted_entries.hpp>

#include <cereal/types/vector.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <vector>

namespace garage::crdt {

/** A map from keys to CRDT values; merging takes the union of keys and merges the values
    of keys present on both sides with `crdt::merge`.

    Unlike `lww_map` there is no timestamp: the value type alone decides how concurrent
    writes combine, so `V` is usually a CRDT with its own ordering, such as an `lww`, a
    `flag` or a `deletable` (Garage's `authorized_keys: Map<key_id, BucketKeyPerm>`).
    Keys are never removed by a merge; delete by merging a tombstone value.

    Entries live in one `std::vector` sorted by key: lookups O(log n), single-key puts O(n),
    merges O(n + m); equal maps are equal element-wise and serialize to the same bytes.

    @tparam K The key type: copyable and totally ordered.
    @tparam V The value type; models `crdt`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    crdt::map<std::string, crdt::flag> seen;
    seen.put("node-a", crdt::flag(true));
    crdt::merge(seen, crdt::map<std::string, crdt::flag>::put_mutator("node-b", crdt::flag(true)));
    assert(seen.size() == 2);
    @endcode
*/
template <class K, crdt V>
requires detail::map_key<K>
class map {
public:
    /// One key and its value.
    struct entry {
        K key;   ///< the key
        V value; ///< the value

        /// Equal when key and value are equal.
        friend bool operator==(entry const&, entry const&) = default;

        /** cereal: key, value.
            @param ar A cereal archive. */
        template <class Archive>
        void serialize(Archive& ar)
        {
            ar(cereal::make_nvp("k", key), cereal::make_nvp("v", value));
        }
    };

    using key_type = K;       ///< the key type
    using mapped_type = V;    ///< the value type
    using value_type = entry; ///< what @ref items holds

    /// The empty map.
    map() = default;

    /** A delta of one entry: merged into a map, it merges `value` into the value of `key`.
        @param key   The key.
        @param value The value to merge in.
        @return The map `{key: value}`. */
    [[nodiscard]] static map put_mutator(K key, V value);

    /** Merges `value` into the value of `key`, or inserts it if the key is new.
        Same as merging @ref put_mutator `(key, value)`.
        @param key   The key.
        @param value The value to merge in. */
    void put(K key, V value);

    /** Merges another map: the union of keys, values of common keys merged.
        @param other The map to merge in. */
    void merge(map const& other);

    /** The value of `key`, or null when absent.
        @param key A key, or anything totally ordered with `K` (e.g. `std::string_view`).
        @return A pointer valid until the next change to this map. */
    template <class Key>
    requires std::totally_ordered_with<K, Key> V const* get(Key const& key) const
    {
        auto const* e = detail::find_key(entries_, key);
        return e != nullptr ? &e->value : nullptr;
    }

    /// @return Every entry, sorted by increasing key.
    std::span<entry const> items() const noexcept { return entries_; }

    /// @return The number of keys.
    std::size_t size() const noexcept { return entries_.size(); }

    /// @return True when there is no key.
    bool empty() const noexcept { return entries_.empty(); }

    /// Removes every entry (a local operation, not a CRDT delete).
    void clear() noexcept { entries_.clear(); }

    /// Moves every entry into the returned map and leaves this one empty. @return The former contents.
    map take_and_clear() noexcept;

    /// Equal when the same keys map to equal values.
    friend bool operator==(map const&, map const&) = default;

    /** cereal: the entries in key order. Loading rejects keys that are not strictly
        increasing with `cereal::Exception`.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar);

private:
    std::vector<entry> entries_;
};

} // namespace garage::crdt

// `<cereal/types/map.hpp>` declares save/load for any template with a `mapped_type`; this type
// serializes through its member `serialize` only.
/// @cond
namespace cereal {
template <class Archive, class K, class V>
struct specialize<Archive, garage::crdt::map<K, V>, specialization::member_serialize> {
};
} // namespace cereal
/// @endcond

#include <garage/crdt/impl/map.hpp>
