#pragma once
/** @file
    `lww<T>`: a last-writer-wins register.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <utility>

namespace garage::crdt {

/** A last-writer-wins register: a value stamped with the wall-clock time of its last write.

    The merge keeps the value with the larger timestamp. When both timestamps are equal the
    values themselves are merged with `crdt::merge`, which is why `T` must be a CRDT: this keeps
    the merge commutative when two nodes write in the same millisecond. For plain values
    (`std::string`, `bool`) that fallback keeps the maximum, which is deterministic but
    arbitrary, so never create two different values with one timestamp on purpose; for
    `std::optional<U>` two different writes with one timestamp merge to `std::nullopt`.

    Timestamps are milliseconds since the Unix epoch (`util::now_msec()`). @ref update always
    moves the timestamp strictly forward, even when the stored one is in the future (a clock
    ahead of ours wrote it), so that a local update is never lost to the value it replaces.

    A value whose inner type is itself a larger CRDT (a map) can be changed without a new
    timestamp through `get_mut()`: then the inner merge combines the changes, and a *delta*
    (same timestamp, a map of only the changed entries) is enough to send to other nodes.

    @tparam T The value type; models `crdt`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    crdt::lww<std::string> name("alice");  // stamped now
    auto theirs = name;
    theirs.update("bob");                  // timestamp strictly larger
    crdt::merge(name, theirs);             // name.get() == "bob"
    @endcode
*/
template <crdt T>
class lww {
public:
    /// The stored value type.
    using value_type = T;

    /// Timestamp 0 and a value-initialized `T`: loses to any write.
    lww() requires std::default_initializable<T> : value_() {}

    /** A value written now.
        @param value The initial value; its timestamp is `util::now_msec()`. */
    explicit lww(T value) : timestamp_(util::now_msec()), value_(std::move(value)) {}

    /** A value with a given timestamp (decoding, migrations, tests).
        @param timestamp Milliseconds since the Unix epoch.
        @param value     The value.
        @return The register `{timestamp, value}`. */
    static lww raw(std::uint64_t timestamp, T value) { return lww(timestamp, std::move(value)); }

    /** Replaces the value, with timestamp `max(timestamp() + 1, util::now_msec())`.
        @param value The new value. */
    void update(T value)
    {
        timestamp_ = std::max(timestamp_ + 1, util::now_msec());
        value_ = std::move(value);
    }

    /// @return Milliseconds since the Unix epoch of the last write.
    std::uint64_t timestamp() const noexcept { return timestamp_; }

    /// @return The value.
    T const& get() const noexcept { return value_; }

    /** The value, to change in place *without* a new timestamp.

        The change then merges with other replicas through `T`'s own merge. Use it for
        CRDT values such as maps; for a plain value prefer @ref update.
        @return The value. */
    T& get_mut() noexcept { return value_; }

    /// Moves the value out, dropping the timestamp. @return The value.
    T take() && { return std::move(value_); }

    /** Merges another register: the larger timestamp wins, equal timestamps merge values.
        @param other The register to merge in. */
    void merge(lww const& other)
    {
        if (other.timestamp_ > timestamp_) {
            timestamp_ = other.timestamp_;
            value_ = other.value_;
        } else if (other.timestamp_ == timestamp_) {
            crdt::merge(value_, other.value_);
        }
    }

    /// Equal when both timestamp and value are equal.
    friend bool operator==(lww const&, lww const&) = default;

    /** cereal: the timestamp, then the value.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("ts", timestamp_), cereal::make_nvp("v", value_));
    }

private:
    lww(std::uint64_t timestamp, T&& value) : timestamp_(timestamp), value_(std::move(value)) {}

    std::uint64_t timestamp_ = 0;
    T value_;
};

} // namespace garage::crdt
