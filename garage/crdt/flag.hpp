#pragma once
/** @file
    `flag`: a boolean that, once set, stays set.
*/

#include <garage/crdt/crdt.hpp>

namespace garage::crdt {

/** A boolean that can only go from `false` to `true` (Garage's `Bool`): the merge is OR.

    Use it for one-way facts such as "this upload was aborted" or "this version was
    deleted". Unlike a plain `bool` (which, opted in through `enable_auto_crdt`, merges
    the same way), its interface cannot clear it.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    crdt::flag aborted;          // false
    crdt::merge(aborted, crdt::flag(true));
    assert(aborted.get());       // and nothing can reset it
    @endcode
*/
class flag {
public:
    /// Not set.
    constexpr flag() noexcept = default;

    /** A flag in a given state.
        @param value Whether it is set. */
    constexpr explicit flag(bool value) noexcept : value_(value) {}

    /// Sets the flag; it stays set forever.
    constexpr void set() noexcept { value_ = true; }

    /// @return Whether the flag is set.
    constexpr bool get() const noexcept { return value_; }

    /** Merges another flag: set if either is set.
        @param other The flag to merge in. */
    constexpr void merge(flag const& other) noexcept { value_ = value_ || other.value_; }

    /// Equal when both are set or both are not.
    friend constexpr bool operator==(flag const&, flag const&) noexcept = default;

    /** cereal: one boolean.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("set", value_));
    }

private:
    bool value_ = false;
};

} // namespace garage::crdt
