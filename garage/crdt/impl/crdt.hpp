#pragma once
// Out-of-line parts of <garage/crdt/crdt.hpp>: the member check of described aggregates
// (which needs the `crdt` concept) and their generic cereal serialization.

#include <boost/mp11/algorithm.hpp>

#include <cereal/details/traits.hpp>

#include <type_traits>
#include <utility>

namespace garage::crdt::detail {

/// The type of the data member described by `Member` in `T`, without cv or reference.
template <class T, class Member>
using described_member_type = std::remove_cvref_t<decltype(std::declval<T&>().*Member::pointer)>;

template <class T, class MemberList>
struct all_described_members_are_crdt;

template <class T, template <class...> class List, class... Members>
struct all_described_members_are_crdt<T, List<Members...>>
    : std::bool_constant<(crdt<described_member_type<T, Members>> && ...)> {
};

template <class T>
struct described_members_are_crdt : all_described_members_are_crdt<T, described_members<T>> {
};

/// True when `T` brings its own cereal member `serialize`, `save` or `load` for `Archive`.
template <class T, class Archive>
inline constexpr bool has_cereal_member_functions =
    cereal::traits::has_member_serialize<T, Archive>::value ||
    cereal::traits::has_member_versioned_serialize<T, Archive>::value ||
    cereal::traits::has_member_save<T, Archive>::value ||
    cereal::traits::has_member_versioned_save<T, Archive>::value ||
    cereal::traits::has_member_load<T, Archive>::value ||
    cereal::traits::has_member_versioned_load<T, Archive>::value;

} // namespace garage::crdt::detail

namespace cereal {

/** cereal serialization of an aggregate that merges member by member through its
    Boost.Describe description: each member in declaration order, as a name-value pair
    (names appear in text archives; binary archives store the values only).

    Found by argument-dependent lookup through the archive type. A type that defines its own
    cereal member functions, or a non-member `serialize` in its own namespace (which is
    more specialized and wins), is left alone.

    @tparam Archive A cereal archive.
    @tparam T       A type that merges by its description (`crdt::detail::merges_by_description`).
*/
template <class Archive, class T>
requires garage::crdt::detail::merges_by_description<T> &&
    (!garage::crdt::detail::has_cereal_member_functions<T, Archive>)void serialize(Archive& ar, T& value)
{
    boost::mp11::mp_for_each<garage::crdt::detail::described_members<T>>(
        [&](auto member) { ar(cereal::make_nvp(member.name, value.*member.pointer)); });
}

} // namespace cereal
