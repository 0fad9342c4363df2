#pragma once
// Fixed-width big-endian encodings of the block layer's metadata: resync queue keys and
// resync error counters (the byte formats of Garage's block_local_* trees).

#include <garage/block/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace garage::block::detail {

inline void put_u64_be(std::string& out, std::uint64_t v)
{
    for (int i = 7; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
}

/// The big-endian value of the first 8 bytes of `s` (which must have them).
inline std::uint64_t get_u64_be(std::string_view s) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v = (v << 8) | static_cast<std::uint8_t>(s[i]);
    }
    return v;
}

/// A resync queue key: `u64_be(when_msec) ‖ hash`.
inline std::string queue_key(std::uint64_t when_msec, util::hash32 const& h)
{
    std::string k;
    k.reserve(8 + util::hash32::size());
    put_u64_be(k, when_msec);
    k.append(h.view());
    return k;
}

/// Consecutive resync failures of one block and the time of the last one.
struct error_counter {
    /// Garage's `RESYNC_RETRY_DELAY_MAX_BACKOFF_POWER`.
    static constexpr std::uint64_t max_backoff_power = 6;

    std::uint64_t errors = 0;
    std::uint64_t last_try = 0;

    static util::result<error_counter> decode(std::string_view s)
    {
        if (s.size() != 16) {
            return util::failure(error::corrupt_metadata, "malformed block resync error counter");
        }
        return error_counter{get_u64_be(s), get_u64_be(s.substr(8))};
    }
    std::string encode() const
    {
        std::string out;
        out.reserve(16);
        put_u64_be(out, errors);
        put_u64_be(out, last_try);
        return out;
    }
    /// `base × 2^min(errors − 1, 6)`.
    std::uint64_t delay_msec(std::uint64_t base_msec) const noexcept
    {
        auto const power = std::min<std::uint64_t>(errors == 0 ? 0 : errors - 1, max_backoff_power);
        return base_msec << power;
    }
    std::uint64_t next_try(std::uint64_t base_msec) const noexcept
    {
        return last_try + delay_msec(base_msec);
    }
};

} // namespace garage::block::detail
