#pragma once
/** @file
    The reference count of a block, as stored in the tree `block_local_rc` (Garage's `RcEntry`).
*/

#include <garage/block/error.hpp>
#include <garage/util/error.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace garage::block {

/** The reference count of one block on this node.

    Three states, stored as Garage stores them:
    - **present**: `count > 0` references; stored as the 8-byte big-endian count;
    - **deletable**: no reference since some time; the block may be deleted once
      `now_msec() >= at`; stored as 8 zero bytes followed by the 8-byte big-endian `at`;
    - **absent**: no entry; the block may be deleted at once.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for const member functions.
*/
class rc_value {
public:
    /// The three states.
    enum class state : std::uint8_t {
        absent,    ///< no entry: no reference
        present,   ///< `count()` references
        deletable, ///< no reference; deletable from `deletable_at()`
    };

    /// Absent.
    constexpr rc_value() noexcept = default;

    /// @return No entry.
    static constexpr rc_value absent() noexcept { return {}; }
    /** @param count The number of references.
        @return `count` references; `absent()` when `count` is 0. */
    static constexpr rc_value present(std::uint64_t count) noexcept
    {
        return count == 0 ? rc_value() : rc_value(state::present, count);
    }
    /** @param at_msec When the block may be deleted (Unix milliseconds).
        @return No reference; deletable from `at_msec`. */
    static constexpr rc_value deletable(std::uint64_t at_msec) noexcept
    {
        return rc_value(state::deletable, at_msec);
    }

    /** Decodes a stored value.
        @param stored The stored bytes; `nullopt` when there is no entry.
        @return The value; `error::corrupt_metadata` if the value is neither 8 nor 16 bytes long, or is a
                16-byte value whose first 8 bytes are not zero. */
    static util::result<rc_value> decode(std::optional<std::string_view> stored);

    /// @return The stored form; `nullopt` for absent (the entry is removed).
    std::optional<std::string> encode() const;

    /// @return The state.
    constexpr state get_state() const noexcept { return state_; }
    /// @return The number of references (0 unless present).
    constexpr std::uint64_t count() const noexcept { return state_ == state::present ? value_ : 0; }
    /// @return When a deletable block may be deleted (Unix milliseconds); `nullopt` otherwise.
    constexpr std::optional<std::uint64_t> deletable_at() const noexcept
    {
        return state_ == state::deletable ? std::optional<std::uint64_t>(value_) : std::nullopt;
    }
    /// @return True when there is no reference (absent or deletable).
    constexpr bool is_zero() const noexcept { return state_ != state::present; }
    /** @param now_msec The current time (Unix milliseconds).
        @return True when the block may be deleted now: absent, or deletable and due. */
    constexpr bool is_deletable(std::uint64_t now_msec) const noexcept
    {
        return state_ == state::absent || (state_ == state::deletable && now_msec >= value_);
    }

    /// @return One more reference (an absent or deletable value becomes `present(1)`).
    constexpr rc_value incremented() const noexcept { return present(count() + 1); }
    /** One reference less.
        @param now_msec      The current time (Unix milliseconds).
        @param gc_delay_msec How long a block stays after its last reference is dropped.
        @return A count above 1 less one; a count of 1 becomes deletable at
                `now_msec + gc_delay_msec`; an absent or deletable value is unchanged. */
    constexpr rc_value decremented(std::uint64_t now_msec, std::uint64_t gc_delay_msec) const noexcept
    {
        if (state_ != state::present) {
            return *this;
        }
        return value_ > 1 ? present(value_ - 1) : deletable(now_msec + gc_delay_msec);
    }

    /// Equal when state and count (or deletion time) are equal.
    friend constexpr bool operator==(rc_value const&, rc_value const&) noexcept = default;

private:
    constexpr rc_value(state s, std::uint64_t v) noexcept : state_(s), value_(v) {}

    state state_ = state::absent;
    std::uint64_t value_ = 0;
};

/** Writes `absent`, `present(n)` or `deletable(at)` (for logs and test output).
    @param os The stream.
    @param v  The value.
    @return `os`. */
template <class CharT, class Traits>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, rc_value const& v)
{
    switch (v.get_state()) {
    case rc_value::state::absent:
        return os << "absent";
    case rc_value::state::present:
        return os << "present(" << v.count() << ')';
    case rc_value::state::deletable:
        return os << "deletable(" << *v.deletable_at() << ')';
    }
    return os;
}

} // namespace garage::block
