#pragma once
/** @file
    The `crdt` concept and the `crdt::merge` customization point object.

    A CRDT (conflict-free replicated data type) is a value with a merge operation `a ⊔ b` that
    is commutative, associative and idempotent, so that replicas which have seen the same
    updates in any order, any number of times, agree. Table entries are CRDTs: a read merges
    the answers of several nodes, anti-entropy merges whole partitions.

    A type opts in to `crdt::merge` in exactly one of four ways, tried in this order:

    1. a member `void merge(T const& other)` (the CRDT types of this layer, and most entries);
    2. `enable_auto_crdt<T> = true` for a totally ordered `T`: the merge keeps the maximum
       (Garage's `AutoCrdt`; on by default for `std::string`, `bool` and the 32-byte ids);
    3. `std::optional<U>` of an equality-comparable `U`: two different values merge to
       `std::nullopt` (Garage's `Option<T: Eq>` rule, see `crdt::merge`);
    4. an aggregate described with Boost.Describe (`BOOST_DESCRIBE_STRUCT`, or
       `BOOST_DESCRIBE_CLASS` for private members) whose members are all CRDTs: the merge
       merges member by member. Such a type also gets a cereal `serialize` for free.

    The laws, the valid expressions and worked examples are in docs/concepts/crdt.md.
*/

#include <garage/util/bytes32.hpp>

#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp> // util::basic_bytes32::serialize saves a std::array
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <type_traits>

/** The `crdt` layer: the @ref garage::crdt::crdt concept, the `crdt::merge` customization
    point and the CRDT types (`lww`, `lww_map`, `map`, `flag`, `deletable`). Bazel target
    `//garage/crdt`; see docs/concepts/crdt.md.
*/
namespace garage::crdt {

/** Opt in to `merge(a, b) == max(a, b)` (Garage's `AutoCrdt`).

    Only for values where "the largest wins" is intended, or where two replicas are never
    expected to hold different values (then the maximum is merely a deterministic choice).
    Garage logs a warning when such values differ; this layer stays silent, as a merge is a
    pure function. Specialize it to `true` for a totally ordered type of yours:
    @code
    template <> inline constexpr bool garage::crdt::enable_auto_crdt<my::version> = true;
    @endcode

    @tparam T The type to opt in. It must also model `std::totally_ordered`.
*/
template <class T>
inline constexpr bool enable_auto_crdt = false;

/// Strings merge to the lexicographically larger one (Garage: `AutoCrdt for String`).
template <>
inline constexpr bool enable_auto_crdt<std::string> = true;

/// Booleans merge to `a || b` (Garage: `AutoCrdt for bool`).
template <>
inline constexpr bool enable_auto_crdt<bool> = true;

/// 32-byte ids merge to the bytewise larger one (Garage: `AutoCrdt for FixedBytes32`).
template <class Tag>
inline constexpr bool enable_auto_crdt<util::basic_bytes32<Tag>> = true;

namespace detail {

template <class T>
struct is_std_optional : std::false_type {
};
template <class U>
struct is_std_optional<std::optional<U>> : std::true_type {
};

/// Defined in impl/crdt.hpp, once the `crdt` concept exists: true when every described
/// member of `T` models `crdt`.
template <class T>
struct described_members_are_crdt;

/// Way 1: `self.merge(other)` is a valid member call.
template <class T>
concept has_member_merge = requires(T& self, T const& other)
{
    self.merge(other);
};

/// Way 2: opted in with `enable_auto_crdt<T>` and totally ordered.
template <class T>
concept auto_crdt = enable_auto_crdt<T> && std::totally_ordered<T>;

/// Way 3: `std::optional<U>` with an equality-comparable `U`.
template <class T>
concept optional_crdt = is_std_optional<T>::value && std::equality_comparable<typename T::value_type>;

/// Way 4: a class described with Boost.Describe whose members are all CRDTs.
template <class T>
concept described_crdt = std::is_class_v<T> && boost::describe::has_describe_members<T>::value &&
    described_members_are_crdt<T>::value;

/// One of the four ways above: what `crdt::merge` accepts. A rejected type's diagnostic
/// quotes this line.
template <class T>
concept mergeable = has_member_merge<T> || auto_crdt<T> || optional_crdt<T> || described_crdt<T>;

/// `T` merges member by member: way 4 applies and none of the ways before it.
template <class T>
concept merges_by_description =
    described_crdt<T> && !has_member_merge<T> && !auto_crdt<T> && !optional_crdt<T>;

/// Every data member of `T`, whatever its access, including those of described bases.
template <class T>
using described_members =
    boost::describe::describe_members<T, boost::describe::mod_any_access | boost::describe::mod_inherited>;

struct merge_fn {
    /** Merges `other` into `self` by the first applicable way (see the file comment).
        @param self  The value to update.
        @param other The value to merge in; it is not modified. */
    template <class T>
    requires mergeable<T>
    constexpr void operator()(T& self, T const& other) const
    {
        if constexpr (has_member_merge<T>) {
            self.merge(other);
        } else if constexpr (auto_crdt<T>) {
            if (self < other) {
                self = other;
            }
        } else if constexpr (optional_crdt<T>) {
            if (self != other) {
                self.reset();
            }
        } else {
            boost::mp11::mp_for_each<described_members<T>>(
                [&](auto member) { (*this)(self.*member.pointer, other.*member.pointer); });
        }
    }
};

} // namespace detail

/** Merges `other` into `self`: `self = self ⊔ other`.

    For every model of `crdt`: `a ⊔ b == b ⊔ a`, `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)` and
    `a ⊔ a == a`.

    The `std::optional<U>` rule is Garage's `Option<T: Eq>`: equal values stay, different
    values (including one engaged and one empty) become `std::nullopt`. This is the join of
    the *flat lattice* whose top is `nullopt`, hence a CRDT, under two conditions:
    - `nullopt` means "conflict" (or "deleted"), never "not yet set": merging a fresh,
      empty value into a set one erases it. Use it inside `lww`, where the timestamp
      decides first and the rule only settles two different writes with the same timestamp.
    - `U`'s `==` is a true equivalence: `std::optional<double>` holding NaN is not
      idempotent. `U`'s own merge, if any, is not used.

    @par Example
    @code
    std::string a = "abc", b = "abd";
    garage::crdt::merge(a, b); // a == "abd"
    @endcode
*/
inline constexpr detail::merge_fn merge{};

/** A value that replicas can merge without coordination.

    Satisfied by any copyable, equality-comparable `T` accepted by `crdt::merge`, i.e. for which
    `crdt::merge(t, u)` is valid with `T& t` and `T const& u`. When a type is rejected for
    want of a merge, the compiler quotes the four ways to opt in ("no operand of the
    disjunction is satisfied": `has_member_merge<T> || auto_crdt<T> || optional_crdt<T> ||
    described_crdt<T>`); `-fconcepts-diagnostics-depth=2` says why each failed.

    @tparam T The candidate type.
*/
template <class T>
concept crdt = std::copyable<T> && std::equality_comparable<T> && detail::mergeable<T>;

} // namespace garage::crdt

#include <garage/crdt/impl/crdt.hpp>
