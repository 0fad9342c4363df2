#pragma once
/** @file
    The background workers of the block manager: "Block resync worker #1..#8" and
    "Block scrub worker" (reference §11), and the handle through which they are steered
    (`garage worker set`, `garage repair scrub`).
*/

#include <garage/block/manager.hpp>
#include <garage/block/store.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/worker.hpp>

#include <cereal/types/optional.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

namespace garage::block {

/// Garage's `MAX_RESYNC_WORKERS`: resync workers spawned (those above the configured count idle).
inline constexpr std::size_t max_resync_workers = 8;
/// The resync tranquility of a new node (`INITIAL_RESYNC_TRANQUILITY`).
inline constexpr std::uint32_t default_resync_tranquility = 2;
/// The scrub tranquility of a new node (`INITIAL_SCRUB_TRANQUILITY`).
inline constexpr std::uint32_t default_scrub_tranquility = 4;
/// The time between two scrub passes, before the random extra (`SCRUB_INTERVAL`).
inline constexpr std::chrono::milliseconds scrub_interval = std::chrono::hours(24 * 25);
/// The largest random extra added to @ref garage::block::scrub_interval (so passes run every
/// 25–35 days).
inline constexpr std::chrono::milliseconds scrub_interval_random = std::chrono::hours(24 * 10);
/// How often a running scrub saves its position.
inline constexpr std::chrono::milliseconds scrub_checkpoint_interval = std::chrono::seconds(60);

/// The persisted settings of the resync workers (`<metadata_dir>/resync_cfg`).
struct resync_config {
    std::uint32_t worker_count = 1;                         ///< active resync workers, 1..8
    std::uint32_t tranquility = default_resync_tranquility; ///< sleep per unit of work

    /** cereal: a format version, then the fields.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t version = 1;
        ar(version, worker_count, tranquility);
    }
    /// Equal when every field is equal.
    friend bool operator==(resync_config const&, resync_config const&) = default;
};

/// The persisted state of the scrub worker (`<metadata_dir>/scrub_info`).
struct scrub_info {
    std::uint32_t tranquility = default_scrub_tranquility; ///< sleep per unit of work
    std::uint64_t time_last_complete_scrub = 0;            ///< Unix ms; 0 = never
    std::uint64_t time_next_run_scrub = 0;                 ///< Unix ms of the next automatic pass
    std::uint64_t corruptions_detected = 0;                ///< corrupt files found by scrub, ever
    std::optional<scrub_cursor> checkpoint;                ///< the position of an unfinished pass

    /** cereal: a format version, then the fields.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t version = 1;
        ar(version, tranquility, time_last_complete_scrub, time_next_run_scrub, corruptions_detected,
           checkpoint);
    }
    /// Equal when every field is equal.
    friend bool operator==(scrub_info const&, scrub_info const&) = default;
};

/** When the next automatic scrub pass is due.
    @param from_msec The start of the wait (Unix milliseconds), usually the end of a pass.
    @return `from_msec` + @ref garage::block::scrub_interval + a random part, below
            @ref garage::block::scrub_interval_random, of the latter. */
std::uint64_t next_scrub_time(std::uint64_t from_msec);

/// What the scrub worker is doing.
enum class scrub_state {
    finished, ///< waits for the next automatic pass (or a start command)
    running,  ///< walking the block files
    paused,   ///< a pass is paused until a time
};

/** Steers the block workers: resync worker count and tranquility (persisted in
    `resync_cfg`), scrub commands and tranquility (persisted in `scrub_info`).

    Created by @ref garage::block::spawn_workers and shared with its workers; keep it to send
    commands.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class block_worker_control {
public:
    /** A control for the workers of a node; loads `resync_cfg` (defaults if absent or
        unreadable).
        @param metadata_dir The node's metadata directory (where `resync_cfg` is kept).
        @param ex           The executor on which the timers of the wake-up signals run. */
    block_worker_control(std::filesystem::path const& metadata_dir, util::net::any_io_executor ex);
    block_worker_control(block_worker_control const&) = delete;
    block_worker_control& operator=(block_worker_control const&) = delete;

    /// @return The number of active resync workers.
    std::size_t resync_worker_count() const;
    /** Sets the number of active resync workers (`resync-worker-count`) and saves it.
        @param n The number, 1 to @ref garage::block::max_resync_workers.
        @return Success; `error::invalid_options` outside that range; a save failure. */
    util::result<void> set_resync_worker_count(std::size_t n);
    /// @return The resync tranquility.
    std::uint32_t resync_tranquility() const;
    /** Sets the resync tranquility (`resync-tranquility`) and saves it.
        @param t The sleep after each step, as a multiple of the time the step took (0: none).
        @return Success; a save failure. */
    util::result<void> set_resync_tranquility(std::uint32_t t);

    /// Starts a scrub pass now (if none is running or paused).
    void scrub_start() { send({command::start, {}, 0}); }
    /** Pauses a running pass.
        @param d For how long (Garage's `repair scrub pause` uses 24 h). */
    void scrub_pause(std::chrono::milliseconds d) { send({command::pause, d, 0}); }
    /// Resumes a paused pass.
    void scrub_resume() { send({command::resume, {}, 0}); }
    /// Abandons the current pass.
    void scrub_cancel() { send({command::cancel, {}, 0}); }
    /** Sets the scrub tranquility (`scrub-tranquility`), saved with the scrub state.
        @param t The sleep after each step, as a multiple of the time the step took (0: none). */
    void scrub_set_tranquility(std::uint32_t t) { send({command::set_tranquility, {}, t}); }

    /// @return The scrub state as last published by the scrub worker.
    scrub_info scrub_snapshot() const;
    /// @return What the scrub worker is doing, as last published.
    scrub_state scrub_current_state() const;

    /// @return The signal that wakes the resync workers (the manager's `on_resync_queued`).
    std::shared_ptr<util::async_notify> const& resync_notify() const noexcept { return resync_notify_; }
    /// @return The signal that wakes the scrub worker (a command was sent).
    std::shared_ptr<util::async_notify> const& scrub_notify() const noexcept { return scrub_notify_; }

    /** A scrub command (for the scrub worker): `start`, `pause`, `resume`, `cancel` and
        `set_tranquility`, sent by the `scrub_*` functions of the same names. */
    enum class command { start, pause, resume, cancel, set_tranquility };
    /// A scrub command with its argument.
    struct scrub_command {
        command kind = command::start;          ///< the command
        std::chrono::milliseconds pause_for{0}; ///< for `pause`: how long
        std::uint32_t tranquility = 0;          ///< for `set_tranquility`: the new value
    };
    /// @return The pending scrub commands, oldest first, which are removed (for the scrub worker).
    std::deque<scrub_command> take_scrub_commands();
    /** Publishes the scrub state (for the scrub worker).
        @param info The persisted state.
        @param s    What the worker is doing. */
    void publish_scrub(scrub_info const& info, scrub_state s);

private:
    void send(scrub_command c);

    mutable std::mutex mutex_;
    std::filesystem::path resync_cfg_path_;
    resync_config resync_;
    std::deque<scrub_command> scrub_commands_;
    scrub_info scrub_;
    scrub_state scrub_state_ = scrub_state::finished;
    std::shared_ptr<util::async_notify> resync_notify_;
    std::shared_ptr<util::async_notify> scrub_notify_;
};

/** What @ref garage::block::spawn_workers starts. */
struct block_worker_options {
    /// Do not start the scrub worker (`disable_scrub`).
    bool disable_scrub = false;
    /// The longest a worker sleeps before looking at its queue again (the runner caps it at
    /// its own idle recheck, 10 s by default).
    std::chrono::milliseconds idle_wait = std::chrono::seconds(10);
};

/** Starts the block manager's workers on `runner`: "Block resync worker #1" to "#8" (those
    above `resync_worker_count` idle; tranquility 2 by default) and, unless disabled, "Block
    scrub worker" (a pass every 25–35 days, tranquility 4 by default; state in
    `<metadata_dir>/scrub_info`, resumed from its checkpoint after a restart).

    Sets the manager's `on_resync_queued` hook.
    @tparam Storage The manager's metadata DB; models @ref garage::storage::storage_backend.
    @param m      The manager; it must outlive the runner's workers.
    @param runner Where the workers run (a thread pool: their steps block on file I/O).
    @param ex     The executor for the workers' timers (usually the runner's).
    @param options Whether to start the scrub worker, and the workers' longest sleep.
    @return The control handle (shared with the workers).
    @par Thread Safety
    Call once per manager, before sharing it.
*/
template <storage::storage_backend Storage>
std::shared_ptr<block_worker_control>
spawn_workers(block_manager<Storage>& m, util::background_runner& runner, util::net::any_io_executor ex,
              block_worker_options options = {});

} // namespace garage::block

#include <garage/block/impl/workers.hpp>
