#pragma once
// Template bodies of <garage/crdt/map.hpp>.

#include <utility>

namespace garage::crdt {

template <class K, crdt V>
requires detail::map_key<K>
auto map<K, V>::put_mutator(K key, V value) -> map
{
    map out;
    out.entries_.push_back(entry{std::move(key), std::move(value)});
    return out;
}

template <class K, crdt V>
requires detail::map_key<K>
void map<K, V>::put(K key, V value)
{
    auto it = detail::lower_bound_key(entries_, key);
    if (it != entries_.end() && it->key == key) {
        crdt::merge(it->value, value);
    } else {
        entries_.insert(it, entry{std::move(key), std::move(value)});
    }
}

template <class K, crdt V>
requires detail::map_key<K>
void map<K, V>::merge(map const& other)
{
    detail::merge_sorted_entries(entries_, other.entries_, [](entry& mine, entry const& theirs) {
        crdt::merge(mine.value, theirs.value);
    });
}

template <class K, crdt V>
requires detail::map_key<K>
auto map<K, V>::take_and_clear() noexcept -> map
{
    map out;
    out.entries_ = std::exchange(entries_, {});
    return out;
}

template <class K, crdt V>
requires detail::map_key<K>
template <class Archive>
void map<K, V>::serialize(Archive& ar)
{
    ar(cereal::make_nvp("entries", entries_));
    if constexpr (Archive::is_loading::value) {
        detail::check_sorted_entries(entries_, "garage::crdt::map");
    }
}

} // namespace garage::crdt
