#pragma once
// Private helpers of map and lww_map: a std::vector of entries with a `key` member, kept
// sorted by strictly increasing key.

#include <cereal/details/helpers.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace garage::crdt::detail {

/// What the sorted maps require of a key.
template <class K>
concept map_key = std::copyable<K> && std::totally_ordered<K>;

/// Deltas up to this size are merged by binary search and insertion, bigger ones linearly.
inline constexpr std::size_t small_delta_size = 8;

/// The first entry whose key is not less than `key`.
template <class Entries, class Key>
auto lower_bound_key(Entries& entries, Key const& key)
{
    return std::ranges::lower_bound(
        entries, key, std::ranges::less{}, [](auto const& e) -> auto const& { return e.key; });
}

/// A pointer to the entry with `key`, or null.
template <class Entries, class Key>
auto find_key(Entries& entries, Key const& key) -> decltype(&*entries.begin())
{
    auto it = lower_bound_key(entries, key);
    if (it != entries.end() && it->key == key) {
        return &*it;
    }
    return nullptr;
}

/** Merges the sorted `other` into the sorted `self`: keys only in `other` are copied,
    `combine(mine, theirs)` is called for keys in both. O(n + m), or O(m log n + m n)
    moves for a small delta. If `combine` or a copy throws, `self` is left empty. */
template <class Entry, class Combine>
void merge_sorted_entries(std::vector<Entry>& self, std::vector<Entry> const& other, Combine combine)
{
    if (other.empty()) {
        return;
    }
    try {
        if (other.size() <= small_delta_size) {
            for (auto const& theirs : other) {
                auto it = lower_bound_key(self, theirs.key);
                if (it != self.end() && it->key == theirs.key) {
                    combine(*it, theirs);
                } else {
                    self.insert(it, theirs);
                }
            }
            return;
        }
        // Count the keys of `other` missing from `self`: none (the common case of two
        // replicas that know the same keys) means no allocation at all.
        std::size_t missing = 0;
        auto b = other.begin();
        for (auto a = self.cbegin(); b != other.end();) {
            if (a == self.cend() || b->key < a->key) {
                ++missing;
                ++b;
            } else if (a->key < b->key) {
                ++a;
            } else {
                ++a;
                ++b;
            }
        }
        if (missing == 0) {
            auto a = self.begin();
            for (auto const& theirs : other) {
                while (a->key < theirs.key) {
                    ++a;
                }
                combine(*a, theirs);
                ++a;
            }
            return;
        }
        std::vector<Entry> out;
        out.reserve(self.size() + missing);
        auto a = self.begin();
        b = other.begin();
        while (a != self.end() && b != other.end()) {
            if (a->key < b->key) {
                out.push_back(std::move(*a++));
            } else if (b->key < a->key) {
                out.push_back(*b++);
            } else {
                combine(*a, *b++);
                out.push_back(std::move(*a++));
            }
        }
        out.insert(out.end(), std::make_move_iterator(a), std::make_move_iterator(self.end()));
        out.insert(out.end(), b, other.end());
        self = std::move(out);
    } catch (...) {
        self.clear();
        throw;
    }
}

/** Clears `entries` and throws `cereal::Exception` unless their keys are strictly
    increasing: decoded bytes must not break the invariant that makes equal maps compare
    equal and lookups work.
    @param type_name Named in the exception message. */
template <class Entry>
void check_sorted_entries(std::vector<Entry>& entries, char const* type_name)
{
    auto it =
        std::ranges::adjacent_find(entries, [](Entry const& a, Entry const& b) { return !(a.key < b.key); });
    if (it != entries.end()) {
        auto const position = std::to_string(it - entries.begin() + 1);
        entries.clear();
        throw cereal::Exception(std::string(type_name) +
                                ": decoded keys are not strictly increasing (at entry " + position + ")");
    }
}

} // namespace garage::crdt::detail
