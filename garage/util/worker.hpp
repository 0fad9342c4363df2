#pragma once
/** @file
    Background workers (Garage's `BackgroundRunner`): long-running maintenance loops such as
    Merkle updaters, table sync, GC, block resync and scrub, written as a `work()` step and a
    `wait_for_work()` wake-up, run as Asio C++20 coroutines, listed by `garage worker list`.
*/

#include <garage/util/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::util {

namespace net = boost::asio;

/// What a worker is doing, as `garage worker list` shows it.
enum class worker_state {
    busy,      ///< has more work right now
    throttled, ///< has more work but sleeps first (tranquility, or a pause after an error)
    idle,      ///< waits for `wait_for_work()`
    done,      ///< finished; its loop has ended
};

/** The name of a worker state.
    @param s The state.
    @return Its lower-case name: `"busy"`, `"throttled"`, `"idle"` or `"done"`. */
std::string_view to_string(worker_state s) noexcept;

/** What one call of @ref worker::work reports. */
struct worker_step {
    worker_state state = worker_state::idle; ///< what the runner does next
    std::chrono::milliseconds throttle{0};   ///< how long to sleep; only for `throttled`

    /// @return A step that says: call `work()` again at once.
    static worker_step busy() noexcept { return {worker_state::busy, {}}; }
    /// @return A step that says: wait for `wait_for_work()` (at most 10 s) before calling `work()` again.
    static worker_step idle() noexcept { return {worker_state::idle, {}}; }
    /// @return A step that says: the worker has finished; its loop ends and the worker is destroyed.
    static worker_step done() noexcept { return {worker_state::done, {}}; }
    /** @param d How long to sleep.
        @return A step that says: sleep `d` (cut short by a stop request) and call `work()` again. */
    static worker_step throttled(std::chrono::milliseconds d) noexcept
    {
        return {worker_state::throttled, d};
    }

    /// Equal when state and throttle are equal.
    friend bool operator==(worker_step const&, worker_step const&) = default;
};

/** Freeform status of a worker, shown by `garage worker list` and `garage worker info`. */
struct worker_status {
    std::optional<std::uint64_t> queue_length;      ///< items waiting in the worker's queue
    std::optional<std::uint64_t> persistent_errors; ///< items that keep failing
    std::optional<std::uint32_t> tranquility;       ///< current tranquility setting
    std::optional<std::string> progress;            ///< e.g. "42.0%"
    std::vector<std::string> freeform;              ///< any further lines

    /// Equal when every field is equal.
    friend bool operator==(worker_status const&, worker_status const&) = default;
};

/** A background task run by @ref background_runner.

    The runner calls `work()` repeatedly; each call does one bounded step and says what to do
    next (@ref worker_step). Returning a failure, or throwing, counts as an error: the runner
    records it, logs it and retries after 10 s.

    The runner calls `work()`, `wait_for_work()` and `status()` one at a time from the
    worker's own loop (a strand of the runner's executor), never concurrently, so a worker
    needs no locking for state that only these functions touch.

    @par Example
    @code
    class merkle_worker final : public util::worker {
    public:
        std::string name() const override { return "object Merkle"; }
        net::awaitable<util::result<util::worker_step>> work() override
        {
            if (todo_empty()) { co_return util::worker_step::idle(); }
            apply_some_items();
            co_return util::worker_step::busy();
        }
        net::awaitable<void> wait_for_work() override { co_await todo_notify_.wait(); }
    private:
        util::async_notify todo_notify_; // notified by the writer of merkle_todo
    };
    @endcode
*/
class worker {
public:
    virtual ~worker() = default;

    /// @return The name shown by `garage worker list` (e.g. `"object Merkle"`).
    virtual std::string name() const = 0;

    /// @return The worker's status, read by the runner after each step (empty by default).
    virtual worker_status status() const { return {}; }

    /** One bounded step of work. May block briefly (the runner's executor is a background
        pool).
        @return An awaitable of what to do next, or of a failure (retried after 10 s). */
    virtual net::awaitable<result<worker_step>> work() = 0;

    /** Resolves when there may be new work. The runner cancels it (Asio per-operation
        cancellation) on a stop request and after at most 10 s, so it must be built from
        cancellable operations (@ref async_notify, timers, ...).
        @return An awaitable that completes when there may be work. */
    virtual net::awaitable<void> wait_for_work() = 0;
};

/** A snapshot of one worker, as @ref background_runner::list returns it. */
struct worker_info {
    std::size_t id = 0;                      ///< the id returned by `spawn` (from 1)
    std::string name;                        ///< the worker's `name()`
    worker_state state = worker_state::idle; ///< what its loop is doing now
    worker_status status;                    ///< its `status()` after its last step
    std::uint64_t errors = 0;                ///< errors since it was spawned
    std::uint64_t consecutive_errors = 0;    ///< errors since its last successful step
    std::optional<std::string> last_error;   ///< the message of its last error
    std::uint64_t last_error_msec = 0;       ///< when that was (`now_msec()`), 0 if never
};

/** The waits of @ref background_runner; the defaults are Garage's. */
struct worker_timing {
    /// The longest idle wait before `work()` is called again.
    std::chrono::milliseconds idle_recheck{10000};
    /// The pause after a failed step.
    std::chrono::milliseconds error_pause{10000};
};

/** Runs workers as coroutines on an executor, lists them and stops them (Garage's
    `BackgroundRunner`).

    Each worker runs in its own loop on a strand of the executor: `work()`; then, by the step
    returned: `busy` loops again (after yielding to other handlers), `throttled` sleeps the
    given time, `idle` waits for `wait_for_work()` at most 10 s, `done` ends the loop. A
    failure (a failed result, or an exception from `work()` or `wait_for_work()`) is counted,
    logged with spdlog and retried after 10 s (see @ref worker_timing). Every wait is cut short by
    `request_stop()`, after which each loop ends once its current `work()` step returns. A
    worker is destroyed by its loop when the loop ends.

    Lifecycle: the owner calls `request_stop()` then `wait_stopped()` before destroying what the
    workers use. The destructor only requests a stop; it does not wait.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (`spawn`, `list`, `request_stop`,
    `wait_stopped` may be called from any thread; `wait_stopped` not from a thread that runs
    the executor).
*/
class background_runner {
public:
    /// Garage's `EXIT_DEADLINE`: how long a node waits for its workers at shutdown.
    static constexpr std::chrono::milliseconds exit_deadline{8000};

    /** A runner whose worker loops run on `ex`.
        @param ex     A thread pool's executor for background work.
        @param timing The idle and error waits (Garage's 10 s each by default; tests shorten them). */
    explicit background_runner(net::any_io_executor ex, worker_timing timing = {});
    background_runner(background_runner const&) = delete;
    background_runner& operator=(background_runner const&) = delete;
    /// Requests a stop (see @ref request_stop); does not wait.
    ~background_runner();

    /** Starts running a worker.
        @param w The worker; the runner owns it until its loop ends.
        @return the worker's id (1, 2, ...). After `request_stop()` the worker is listed but
        its loop ends at once. */
    std::size_t spawn(std::unique_ptr<worker> w);

    /// @return A snapshot of every worker spawned so far (finished ones included), sorted by id.
    std::vector<worker_info> list() const;

    /// Asks every worker loop to finish after its current step; wakes waiting loops. Idempotent.
    void request_stop();

    /// @return True once `request_stop()` has been called.
    bool stop_requested() const noexcept;

    /** Blocks the calling thread until every worker loop has ended, or `deadline` has passed.
        Must not be called from a thread that runs the runner's executor.
        @param deadline The longest wait (Garage's `EXIT_DEADLINE` by default).
        @return true if every loop has ended (and every worker has been destroyed). */
    bool wait_stopped(std::chrono::milliseconds deadline = exit_deadline);

private:
    struct state;
    std::shared_ptr<state> state_;
};

/** A wake-up signal for coroutines: the building block of `wait_for_work()`.

    `notify()` wakes every coroutine currently in `wait()` / `wait_for()`; if none is waiting,
    it leaves one permit so that the next wait returns at once (permits do not accumulate).
    So a producer that enqueues work and then calls `notify()` never loses a wake-up, and a
    worker may see at most one spurious wake-up.

    Waits support Asio per-operation cancellation (terminal, partial or total): a cancelled
    wait throws `boost::system::system_error` with `net::error::operation_aborted`, as does a
    wait pending when the object is destroyed. As with every Asio operation, cancellation must
    be emitted on the waiting coroutine's executor (a strand or a single-threaded context; the
    runner's loops are on strands).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe; `notify()` may be called from any thread,
    including threads that do not run the executor.
*/
class async_notify {
public:
    /** A notifier.
        @param ex The executor of its timers (for `wait_for`). */
    explicit async_notify(net::any_io_executor ex);
    /// Moves the signal; the moved-from object must not be used again except to destroy it.
    async_notify(async_notify&&) noexcept;
    /// Moves the signal; the moved-from object must not be used again except to destroy it.
    /// @return `*this`.
    async_notify& operator=(async_notify&&) noexcept;
    async_notify(async_notify const&) = delete;
    async_notify& operator=(async_notify const&) = delete;
    /// Aborts pending waits (they throw `operation_aborted`).
    ~async_notify();

    /// Wakes the current waiters, or the next one if there are none.
    void notify();

    /// @return An awaitable that resolves at the next `notify()` (or at once if a permit is stored).
    net::awaitable<void> wait();

    /** Like `wait()`, but gives up after `timeout`.
        @param timeout The longest wait.
        @return true if notified, false on timeout. */
    net::awaitable<bool> wait_for(std::chrono::milliseconds timeout);

private:
    struct state;
    std::shared_ptr<state> state_;
};

/** Garage's Tranquilizer: paces a worker so that it sleeps `tranquility` times as long as it
    works, measured as the average duration of its last N steps.

    Call `reset()` at the start of a step and `tranquilize(t)` at its end, returning the
    result from `work()`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    tranquilizer_.reset();
    scrub_one_block();
    co_return tranquilizer_.tranquilize(tranquility_); // throttled(avg × tranquility), or busy
    @endcode
*/
class tranquilizer {
public:
    /** @param window How many of the last steps' durations to average (Garage uses 10). */
    explicit tranquilizer(std::size_t window = 10);

    /// Marks the start of a step.
    void reset() noexcept;

    /** Records the step that began at the last `reset()` (or construction) and says how to
        pace the next one.
        @param tranquility The ratio of sleep to work.
        @return `busy()` if `tranquility` is 0, else `throttled(tranquility × average)`, the
        average being over the last N recorded steps, rounded to the nearest millisecond. */
    worker_step tranquilize(std::uint32_t tranquility);

    /** As `tranquilize`, with the step's duration given (for tests and callers that measure).
        @param step_duration How long the step took.
        @param tranquility   The ratio of sleep to work.
        @return As `tranquilize`. */
    worker_step record(std::chrono::nanoseconds step_duration, std::uint32_t tranquility);

private:
    std::size_t window_;
    std::deque<std::chrono::nanoseconds> observations_;
    std::chrono::nanoseconds sum_{0};
    std::chrono::steady_clock::time_point step_begin_;
};

} // namespace garage::util
