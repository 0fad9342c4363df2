#pragma once
// Template bodies of <garage/crdt/lww_map.hpp>.

#include <garage/util/time.hpp>

#include <algorithm>
#include <utility>

namespace garage::crdt {

template <class K, crdt V>
requires detail::map_key<K>
auto lww_map<K, V>::raw_item(K key, std::uint64_t timestamp, V value) -> lww_map
{
    lww_map out;
    out.entries_.push_back(entry{std::move(key), timestamp, std::move(value)});
    return out;
}

template <class K, crdt V>
requires detail::map_key<K>
auto lww_map<K, V>::update_mutator(K key, V value) const -> lww_map
{
    auto const now = util::now_msec();
    auto const* old = detail::find_key(entries_, key);
    auto const timestamp = old != nullptr ? std::max(old->timestamp + 1, now) : now;
    return raw_item(std::move(key), timestamp, std::move(value));
}

template <class K, crdt V>
requires detail::map_key<K>
void lww_map<K, V>::update_in_place(K key, V value)
{
    auto const now = util::now_msec();
    auto it = detail::lower_bound_key(entries_, key);
    if (it != entries_.end() && it->key == key) {
        // Same result as merging update_mutator(key, value): its timestamp is larger.
        it->timestamp = std::max(it->timestamp + 1, now);
        it->value = std::move(value);
    } else {
        entries_.insert(it, entry{std::move(key), now, std::move(value)});
    }
}

template <class K, crdt V>
requires detail::map_key<K>
void lww_map<K, V>::merge_raw(K const& key, std::uint64_t timestamp, V const& value)
{
    auto it = detail::lower_bound_key(entries_, key);
    if (it == entries_.end() || !(it->key == key)) {
        entries_.insert(it, entry{key, timestamp, value});
    } else if (timestamp > it->timestamp) {
        it->timestamp = timestamp;
        it->value = value;
    } else if (timestamp == it->timestamp) {
        crdt::merge(it->value, value);
    }
}

template <class K, crdt V>
requires detail::map_key<K>
void lww_map<K, V>::merge(lww_map const& other)
{
    detail::merge_sorted_entries(entries_, other.entries_, [](entry& mine, entry const& theirs) {
        if (theirs.timestamp > mine.timestamp) {
            mine.timestamp = theirs.timestamp;
            mine.value = theirs.value;
        } else if (theirs.timestamp == mine.timestamp) {
            crdt::merge(mine.value, theirs.value);
        }
    });
}

template <class K, crdt V>
requires detail::map_key<K>
auto lww_map<K, V>::take_and_clear() noexcept -> lww_map
{
    lww_map out;
    out.entries_ = std::exchange(entries_, {});
    return out;
}

template <class K, crdt V>
requires detail::map_key<K>
template <class Archive>
void lww_map<K, V>::serialize(Archive& ar)
{
    ar(cereal::make_nvp("entries", entries_));
    if constexpr (Archive::is_loading::value) {
        detail::check_sorted_entries(entries_, "garage::crdt::lww_map");
    }
}

} // namespace garage::crdt
