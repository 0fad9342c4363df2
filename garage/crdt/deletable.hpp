#pragma once
/** @file
    `deletable<T>`: a CRDT value that can be deleted once and for all.
*/

#include <garage/crdt/crdt.hpp>

#include <optional>
#include <utility>

namespace garage::crdt {

/** Either a present CRDT value or the mark that it was deleted (Garage's `Deletable`).

    Merging: deleted absorbs everything (`deleted ⊔ x == deleted`), and two present values
    merge with `crdt::merge`. A deleted object never comes back, so the identity of a deleted
    bucket or key can never be reused by a replica that had not yet heard of the deletion.

    A default-constructed `deletable` is deleted, as a default `std::optional` is empty;
    make a present one with the constructor or @ref present.

    @tparam T The value type; models `crdt`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    auto state = crdt::deletable<crdt::flag>::present(crdt::flag());
    crdt::merge(state, crdt::deletable<crdt::flag>::deleted());
    assert(state.is_deleted());
    @endcode
*/
template <crdt T>
class deletable {
public:
    /// The stored value type.
    using value_type = T;

    /// Deleted.
    deletable() noexcept = default;

    /** Present, holding `value`.
        @param value The value. */
    explicit deletable(T value) : value_(std::move(value)) {}

    /** Present, holding `value`.
        @param value The value.
        @return A present `deletable`. */
    static deletable present(T value) { return deletable(std::move(value)); }

    /// @return A deleted `deletable`.
    static deletable deleted() noexcept { return deletable(); }

    /// @return Whether it was deleted.
    bool is_deleted() const noexcept { return !value_.has_value(); }

    /// @return The value if present, else null.
    T const* get() const noexcept { return value_ ? &*value_ : nullptr; }

    /// @return The value if present, else null; changes merge with other replicas through `T`.
    T* get_mut() noexcept { return value_ ? &*value_ : nullptr; }

    /// Moves the value out. @return The value if present, empty if deleted.
    std::optional<T> take() && { return std::move(value_); }

    /** Deletes the value: the same as merging @ref deleted. */
    void remove() noexcept { value_.reset(); }

    /** Merges another: deleted if either is, else the merge of both values.
        @param other The value to merge in. */
    void merge(deletable const& other)
    {
        if (!value_) {
            return;
        }
        if (!other.value_) {
            value_.reset();
        } else {
            crdt::merge(*value_, *other.value_);
        }
    }

    /// Equal when both are deleted, or both present with equal values.
    friend bool operator==(deletable const&, deletable const&) = default;

    /** cereal: a presence boolean, then the value if present.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("present", value_));
    }

private:
    std::optional<T> value_;
};

} // namespace garage::crdt
