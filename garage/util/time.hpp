#pragma once
/** @file
    Millisecond wall-clock time, as Garage stamps its CRDTs and queues.
*/

#include <chrono>
#include <cstdint>

namespace garage::util {

/// @return Milliseconds since the Unix epoch, from the system clock.
inline std::uint64_t now_msec() noexcept
{
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

/// @return Milliseconds of a monotonic clock, for measuring durations.
inline std::uint64_t steady_msec() noexcept
{
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

} // namespace garage::util
