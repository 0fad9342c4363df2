#pragma once
/** @file
    The block manager's I/O metrics under Garage's names (GARAGE-REFERENCE §3.1):
    `block_bytes_read`, `block_bytes_written`, `block_read_duration`, `block_write_duration`.
*/

#include <garage/metrics/registry.hpp>

#include <chrono>
#include <cstdint>

namespace garage::block {

/** The counters and histograms a @ref garage::block::block_manager updates on each block read
    and write (bytes as stored, so compressed when compression is on; durations in seconds,
    including compression, decompression and verification).

    @par Thread Safety
    Shared objects: safe (relaxed atomics).
*/
struct block_metrics {
    /** Registers (or finds) the four families in `reg`.
        @param reg The registry; it must outlive this object. */
    explicit block_metrics(metrics::registry& reg)
        : bytes_read(reg.counter_family("block_bytes_read", "Number of bytes read from disk").with({})),
          bytes_written(
              reg.counter_family("block_bytes_written", "Number of bytes written to disk").with({})),
          read_duration(reg.histogram_family("block_read_duration",
                                             "Duration of block read operations (seconds)", {}, bounds())
                            .with({})),
          write_duration(reg.histogram_family("block_write_duration",
                                              "Duration of block write operations (seconds)", {}, bounds())
                             .with({}))
    {
    }

    /** Records one read.
        @param bytes The stored size of the block read.
        @param d     How long it took. */
    void record_read(std::uint64_t bytes, std::chrono::steady_clock::duration d) const noexcept
    {
        bytes_read.inc(bytes);
        read_duration.observe(d);
    }
    /** Records one write.
        @param bytes The stored size of the block written.
        @param d     How long it took. */
    void record_write(std::uint64_t bytes, std::chrono::steady_clock::duration d) const noexcept
    {
        bytes_written.inc(bytes);
        write_duration.observe(d);
    }

    metrics::counter& bytes_read;       ///< `block_bytes_read`
    metrics::counter& bytes_written;    ///< `block_bytes_written`
    metrics::histogram& read_duration;  ///< `block_read_duration`
    metrics::histogram& write_duration; ///< `block_write_duration`

private:
    /// Disk I/O of a block: 100 µs to 1 s.
    static std::vector<double> bounds()
    {
        return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    }
};

} // namespace garage::block
