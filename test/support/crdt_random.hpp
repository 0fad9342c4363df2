#pragma once
// Random values of every CRDT type for the property tests of test/crdt/. Values are drawn
// from small domains so that equal keys, equal timestamps and equal values are frequent:
// those are the cases where a merge can break commutativity or associativity.

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/deletable.hpp>
#include <garage/crdt/flag.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/crdt/lww_map.hpp>
#include <garage/crdt/map.hpp>

#include <test/support/crdt_archetype.hpp>

#include <boost/mp11/algorithm.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace garage::test {

/// The generator of the property tests; seeded with a fixed value so failures reproduce.
using crdt_rng = std::mt19937_64;

/// A uniformly random integer in [lo, hi].
inline std::uint64_t random_between(crdt_rng& rng, std::uint64_t lo, std::uint64_t hi)
{
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
}

/// `random_crdt<T>::make(rng)` draws a random `T`; specialized below for every CRDT type.
template <class T>
struct random_crdt;

/// A random `T`.
template <class T>
T random_value(crdt_rng& rng)
{
    return random_crdt<T>::make(rng);
}

/// Timestamps come from {1, 2, 3}: equal timestamps are common.
inline std::uint64_t random_timestamp(crdt_rng& rng)
{
    return random_between(rng, 1, 3);
}

template <>
struct random_crdt<std::string> {
    static std::string make(crdt_rng& rng)
    {
        static constexpr char const* pool[] = {"", "a", "b", "ab", "ba"};
        return pool[random_between(rng, 0, std::size(pool) - 1)];
    }
};

/** Keys of the random maps: `random_key<std::string>` draws from 20 keys, so that maps hold
    up to a dozen keys (beyond the small-delta threshold of the merge) and still overlap;
    other key types use `random_value`. */
template <class K>
K random_key(crdt_rng& rng)
{
    if constexpr (std::same_as<K, std::string>) {
        return "k" + std::to_string(random_between(rng, 0, 19));
    } else {
        return random_value<K>(rng);
    }
}

/// How many entries a random map gets: often none or few, sometimes more than a dozen.
inline std::uint64_t random_map_size(crdt_rng& rng)
{
    return random_between(rng, 0, 1) == 0 ? random_between(rng, 0, 3) : random_between(rng, 4, 16);
}

template <>
struct random_crdt<bool> {
    static bool make(crdt_rng& rng) { return random_between(rng, 0, 1) == 1; }
};

template <class Tag>
struct random_crdt<util::basic_bytes32<Tag>> {
    static util::basic_bytes32<Tag> make(crdt_rng& rng)
    {
        util::basic_bytes32<Tag> out;
        out[0] = static_cast<std::uint8_t>(random_between(rng, 0, 2));
        out[31] = static_cast<std::uint8_t>(random_between(rng, 0, 1));
        return out;
    }
};

template <class U>
struct random_crdt<std::optional<U>> {
    static std::optional<U> make(crdt_rng& rng)
    {
        if (random_between(rng, 0, 2) == 0) {
            return std::nullopt;
        }
        return random_value<U>(rng);
    }
};

template <>
struct random_crdt<crdt::flag> {
    static crdt::flag make(crdt_rng& rng) { return crdt::flag(random_value<bool>(rng)); }
};

template <>
struct random_crdt<crdt_archetype> {
    static crdt_archetype make(crdt_rng& rng)
    {
        return crdt_archetype(static_cast<int>(random_between(rng, 0, 3)));
    }
};

template <>
struct random_crdt<auto_crdt_archetype> {
    static auto_crdt_archetype make(crdt_rng& rng)
    {
        return auto_crdt_archetype{static_cast<int>(random_between(rng, 0, 3))};
    }
};

template <class T>
struct random_crdt<crdt::lww<T>> {
    static crdt::lww<T> make(crdt_rng& rng)
    {
        auto const ts = random_timestamp(rng);
        return crdt::lww<T>::raw(ts, random_value<T>(rng));
    }
};

template <class K, class V>
struct random_crdt<crdt::lww_map<K, V>> {
    static crdt::lww_map<K, V> make(crdt_rng& rng)
    {
        crdt::lww_map<K, V> out;
        for (auto n = random_map_size(rng); n > 0; --n) {
            auto const key = random_key<K>(rng);
            auto const ts = random_timestamp(rng);
            out.merge_raw(key, ts, random_value<V>(rng));
        }
        return out;
    }
};

template <class K, class V>
struct random_crdt<crdt::map<K, V>> {
    static crdt::map<K, V> make(crdt_rng& rng)
    {
        crdt::map<K, V> out;
        for (auto n = random_map_size(rng); n > 0; --n) {
            auto key = random_key<K>(rng);
            out.put(std::move(key), random_value<V>(rng));
        }
        return out;
    }
};

template <class T>
struct random_crdt<crdt::deletable<T>> {
    static crdt::deletable<T> make(crdt_rng& rng)
    {
        if (random_between(rng, 0, 3) == 0) {
            return crdt::deletable<T>::deleted();
        }
        return crdt::deletable<T>::present(random_value<T>(rng));
    }
};

/// Aggregates merged through their Boost.Describe description: every member at random.
template <class T>
requires crdt::detail::merges_by_description<T> && std::default_initializable<T>
struct random_crdt<T> {
    static T make(crdt_rng& rng)
    {
        T out{};
        boost::mp11::mp_for_each<crdt::detail::described_members<T>>([&](auto member) {
            using member_type = std::remove_cvref_t<decltype(out.*member.pointer)>;
            out.*member.pointer = random_value<member_type>(rng);
        });
        return out;
    }
};

} // namespace garage::test
