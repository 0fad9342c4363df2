#pragma once
/** @file
    `lww_map<K, V>`: a map whose every key is a last-writer-wins register.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/detail/sorted_entries.hpp>

#include <cereal/types/vector.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace garage::crdt {

/** A map from keys to values where each key is an independent last-writer-wins register.

    Each entry carries the timestamp of its last write; merging two maps takes the union of
    their keys and, for a key in both, the entry with the larger timestamp (equal
    timestamps merge the values with `crdt::merge`, as in `lww`).

    Keys are never removed by a merge: a key once written stays forever. To delete, write a
    tombstone value, e.g. `lww_map<std::string, std::optional<util::uuid>>` with
    `std::nullopt`, or `lww_map<K, bool>` with `false` (Garage's bucket aliases), and let
    readers skip tombstones.

    Entries live in one `std::vector` sorted by key, so that equal maps are equal
    element-wise and serialize to the same bytes; lookups are O(log n), single-key updates
    O(n). It suits small maps (the aliases of a bucket, the permissions of a key). Merging
    two maps is O(n + m).

    Updates are best sent as *mutators* (deltas): @ref update_mutator returns a map of one
    entry that, merged into any replica, replaces the old value.

    @tparam K The key type: copyable and totally ordered.
    @tparam V The value type; models `crdt`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    crdt::lww_map<std::string, bool> aliases;
    auto delta = aliases.update_mutator("website", true); // send `delta` to the other nodes
    crdt::merge(aliases, delta);
    assert(*aliases.get("website"));
    @endcode
*/
template <class K, crdt V>
requires detail::map_key<K>
class lww_map {
public:
    /// One key, the timestamp of its last write, and its value.
    struct entry {
        K key;                   ///< the key
        std::uint64_t timestamp; ///< milliseconds since the Unix epoch of the last write
        V value;                 ///< the value

        /// Equal when key, timestamp and value are equal.
        friend bool operator==(entry const&, entry const&) = default;

        /** cereal: key, timestamp, value.
            @param ar A cereal archive. */
        template <class Archive>
        void serialize(Archive& ar)
        {
            ar(cereal::make_nvp("k", key), cereal::make_nvp("ts", timestamp), cereal::make_nvp("v", value));
        }
    };

    using key_type = K;       ///< the key type
    using mapped_type = V;    ///< the value type
    using value_type = entry; ///< what @ref items holds

    /// The empty map.
    lww_map() = default;

    /** A map of one entry with a given timestamp (decoding, migrations, tests).
        Merge several to build a map from raw triples.
        @param key       The key.
        @param timestamp Its timestamp, milliseconds since the Unix epoch.
        @param value     Its value.
        @return The map `{key: (timestamp, value)}`. */
    static lww_map raw_item(K key, std::uint64_t timestamp, V value);

    /** A delta that sets `key` to `value` once merged into this map or any replica of it.

        Its timestamp is `util::now_msec()`, or `get_timestamp(key) + 1` if that is larger,
        so it wins over the value this map holds.
        @param key   The key to write.
        @param value The new value.
        @return A map of the single entry `{key, timestamp, value}`. */
    [[nodiscard]] lww_map update_mutator(K key, V value) const;

    /** Sets `key` to `value` here, with the timestamp @ref update_mutator would choose.
        @param key   The key to write.
        @param value The new value. */
    void update_in_place(K key, V value);

    /** Merges one raw entry: it replaces the current one if its timestamp is larger,
        merges values if equal, and is ignored if smaller.
        @param key       The key.
        @param timestamp Its timestamp.
        @param value     Its value. */
    void merge_raw(K const& key, std::uint64_t timestamp, V const& value);

    /** Merges another map: the union of keys, per key the later write.
        @param other The map to merge in. */
    void merge(lww_map const& other);

    /** The value of `key`, or null when the key was never written.
        @param key A key, or anything totally ordered with `K` (e.g. `std::string_view`).
        @return A pointer valid until the next change to this map. */
    template <class Key>
    requires std::totally_ordered_with<K, Key> V const* get(Key const& key) const
    {
        auto const* e = detail::find_key(entries_, key);
        return e != nullptr ? &e->value : nullptr;
    }

    /** The timestamp of the last write of `key`, or 0 when it was never written.
        @param key A key, or anything totally ordered with `K`.
        @return The timestamp, or 0. */
    template <class Key>
    requires std::totally_ordered_with<K, Key> std::uint64_t get_timestamp(Key const& key)
    const
    {
        auto const* e = detail::find_key(entries_, key);
        return e != nullptr ? e->timestamp : 0;
    }

    /// @return Every entry, sorted by increasing key.
    std::span<entry const> items() const noexcept { return entries_; }

    /// @return The number of keys.
    std::size_t size() const noexcept { return entries_.size(); }

    /// @return True when no key was ever written.
    bool empty() const noexcept { return entries_.empty(); }

    /// Removes every entry (a local operation, not a CRDT delete).
    void clear() noexcept { entries_.clear(); }

    /** Moves every entry into the returned map and leaves this one empty.

        Handy to turn a map field into a delta: `auto old = x.m.take_and_clear();
        x.m.merge(old.update_mutator(k, v));` leaves only the change in `x`.
        @return The former contents. */
    lww_map take_and_clear() noexcept;

    /// Equal when the same keys map to the same timestamps and values.
    friend bool operator==(lww_map const&, lww_map const&) = default;

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
struct specialize<Archive, garage::crdt::lww_map<K, V>, specialization::member_serialize> {
};
} // namespace cereal
/// @endcond

#include <garage/crdt/impl/lww_map.hpp>
