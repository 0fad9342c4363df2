#include <garage/util/worker.hpp>

#include <garage/util/time.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>

namespace garage::util {

std::string_view to_string(worker_state s) noexcept
{
    switch (s) {
    case worker_state::busy:
        return "busy";
    case worker_state::throttled:
        return "throttled";
    case worker_state::idle:
        return "idle";
    case worker_state::done:
        return "done";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// signal_core: the waiter list behind async_notify and the runner's stop signal.

using std::chrono::milliseconds;

namespace detail {

/** Coroutines waiting for a signal. In `one_shot` mode a signal wakes the current waiters or,
    if there are none, leaves one permit; in `latched` mode the first signal stays set forever.

    Every waiter completes exactly once, with: success (signalled), `timed_out`, or
    `operation_aborted` (cancelled, or the signal was destroyed). Completion is always posted
    to the waiter's own executor, never run inline. */
class signal_core : public std::enable_shared_from_this<signal_core> {
public:
    enum class mode { one_shot, latched };

    signal_core(net::any_io_executor ex, mode m) : ex_(std::move(ex)), mode_(m) {}
    signal_core(signal_core const&) = delete;
    signal_core& operator=(signal_core const&) = delete;
    ~signal_core() { abort_all(); }

    void signal()
    {
        std::vector<waiter> woken;
        {
            std::lock_guard lock(mutex_);
            if (mode_ == mode::latched) {
                set_ = true;
            } else if (waiters_.empty()) {
                set_ = true; // the permit
            }
            woken = take_all_locked();
        }
        for (auto& w : woken) {
            complete(std::move(w), {});
        }
    }

    void abort_all()
    {
        std::vector<waiter> aborted;
        {
            std::lock_guard lock(mutex_);
            aborted = take_all_locked();
        }
        for (auto& w : aborted) {
            complete(std::move(w), net::error::operation_aborted);
        }
    }

    /// Completion signature `void(error_code)`.
    template <class CompletionToken>
    auto async_wait(std::optional<milliseconds> timeout, CompletionToken&& token)
    {
        return net::async_initiate<CompletionToken, void(error_code)>(
            [](auto handler, std::shared_ptr<signal_core> self, std::optional<milliseconds> timeout) {
                self->start_wait(std::move(handler), timeout);
            },
            token, shared_from_this(), timeout);
    }

private:
    struct waiter {
        waiter() = default;
        // Move-only and noexcept. The handler is held through a pointer because Boost 1.81's
        // any_completion_handler recurses without end when copied or move-assigned.
        waiter(waiter&&) noexcept = default;
        waiter& operator=(waiter&&) noexcept = default;
        waiter(waiter const&) = delete;
        waiter& operator=(waiter const&) = delete;

        std::uint64_t id = 0;
        std::unique_ptr<net::any_completion_handler<void(error_code)>> handler;
        net::any_io_executor work_ex; // the handler's executor, tracking outstanding work
        net::cancellation_slot slot;  // connected if we installed a cancellation handler
        std::shared_ptr<net::steady_timer> timer;
    };

    template <class Handler>
    void start_wait(Handler handler, std::optional<milliseconds> timeout)
    {
        waiter w;
        w.work_ex =
            net::prefer(net::get_associated_executor(handler, ex_), net::execution::outstanding_work.tracked);
        auto slot = net::get_associated_cancellation_slot(handler);
        w.handler = std::make_unique<net::any_completion_handler<void(error_code)>>(std::move(handler));

        std::unique_lock lock(mutex_);
        if (set_) {
            if (mode_ == mode::one_shot) {
                set_ = false; // consume the permit
            }
            lock.unlock();
            complete(std::move(w), {});
            return;
        }
        w.id = ++next_id_;
        if (slot.is_connected()) {
            w.slot = slot;
            slot.assign([self = shared_from_this(), id = w.id](net::cancellation_type) {
                self->finish(id, net::error::operation_aborted);
            });
        }
        if (timeout) {
            w.timer = std::make_shared<net::steady_timer>(ex_, *timeout);
            w.timer->async_wait([self = shared_from_this(), id = w.id](error_code ec) {
                if (!ec) {
                    self->finish(id, net::error::timed_out);
                }
            });
        }
        waiters_.push_back(std::move(w));
    }

    /// Completes waiter `id` with `ec` unless it has already completed.
    void finish(std::uint64_t id, error_code ec)
    {
        waiter w;
        {
            std::lock_guard lock(mutex_);
            auto it =
                std::find_if(waiters_.begin(), waiters_.end(), [id](waiter const& x) { return x.id == id; });
            if (it == waiters_.end()) {
                return;
            }
            w = std::move(*it);
            waiters_.erase(it);
            if (w.timer) {
                w.timer->cancel(); // timer operations are serialised by mutex_
            }
        }
        complete(std::move(w), ec);
    }

    std::vector<waiter> take_all_locked()
    {
        std::vector<waiter> out;
        out.swap(waiters_);
        for (auto& w : out) {
            if (w.timer) {
                w.timer->cancel();
            }
        }
        return out;
    }

    /// Posts the completion to the waiter's executor. The cancellation slot is cleared there,
    /// where it is also emitted, before the handler runs.
    static void complete(waiter w, error_code ec)
    {
        auto ex = w.work_ex;
        net::post(ex, [h = std::move(w.handler), slot = w.slot, work = std::move(w.work_ex), ec]() mutable {
            if (slot.is_connected()) {
                slot.clear();
            }
            (*h)(ec);
        });
    }

    net::any_io_executor ex_;
    mode mode_;
    std::mutex mutex_;
    bool set_ = false;
    std::uint64_t next_id_ = 0;
    std::vector<waiter> waiters_;
};

} // namespace detail

using detail::signal_core;

// ---------------------------------------------------------------------------------------------
// async_notify

struct async_notify::state : signal_core {
    explicit state(net::any_io_executor ex) : signal_core(std::move(ex), mode::one_shot) {}
};

async_notify::async_notify(net::any_io_executor ex) : state_(std::make_shared<state>(std::move(ex))) {}

async_notify::async_notify(async_notify&&) noexcept = default;

async_notify& async_notify::operator=(async_notify&& other) noexcept
{
    if (this != &other) {
        if (state_) {
            state_->abort_all();
        }
        state_ = std::move(other.state_);
    }
    return *this;
}

async_notify::~async_notify()
{
    if (state_) {
        state_->abort_all();
    }
}

void async_notify::notify()
{
    state_->signal();
}

net::awaitable<void> async_notify::wait()
{
    std::shared_ptr<state> st = state_;
    auto [ec] = co_await st->async_wait(std::nullopt, net::as_tuple(net::use_awaitable));
    if (ec) {
        throw boost::system::system_error(ec);
    }
}

net::awaitable<bool> async_notify::wait_for(std::chrono::milliseconds timeout)
{
    std::shared_ptr<state> st = state_;
    auto [ec] = co_await st->async_wait(timeout, net::as_tuple(net::use_awaitable));
    if (ec == net::error::timed_out) {
        co_return false;
    }
    if (ec) {
        throw boost::system::system_error(ec);
    }
    co_return true;
}

// ---------------------------------------------------------------------------------------------
// tranquilizer

tranquilizer::tranquilizer(std::size_t window)
    : window_(window == 0 ? 1 : window), step_begin_(std::chrono::steady_clock::now())
{
}

void tranquilizer::reset() noexcept
{
    step_begin_ = std::chrono::steady_clock::now();
}

worker_step tranquilizer::tranquilize(std::uint32_t tranquility)
{
    auto const elapsed = std::chrono::steady_clock::now() - step_begin_;
    return record(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed), tranquility);
}

worker_step tranquilizer::record(std::chrono::nanoseconds step_duration, std::uint32_t tranquility)
{
    observations_.push_back(step_duration);
    sum_ += step_duration;
    while (observations_.size() > window_) {
        sum_ -= observations_.front();
        observations_.pop_front();
    }
    if (tranquility == 0) {
        return worker_step::busy();
    }
    auto const average = sum_ / static_cast<std::int64_t>(observations_.size());
    return worker_step::throttled(std::chrono::round<milliseconds>(average * tranquility));
}

// ---------------------------------------------------------------------------------------------
// background_runner

struct background_runner::state {
    state(net::any_io_executor executor, worker_timing t)
        : ex(std::move(executor)), timing(t),
          stop(std::make_shared<signal_core>(ex, signal_core::mode::latched))
    {
    }

    net::any_io_executor ex;
    worker_timing timing;
    std::shared_ptr<signal_core> stop;
    std::atomic<bool> stopping{false};

    mutable std::mutex mutex;
    std::condition_variable all_ended;
    std::vector<worker_info> infos; // infos[id - 1]
    std::size_t running = 0;

    /// Held by a loop's frame: when the frame goes (even unstarted, at executor shutdown) the
    /// loop counts as ended.
    class loop_token {
    public:
        loop_token(std::shared_ptr<state> st, std::size_t id) : st_(std::move(st)), id_(id) {}
        loop_token(loop_token&& o) noexcept : st_(std::move(o.st_)), id_(o.id_) {}
        loop_token& operator=(loop_token&&) = delete;
        ~loop_token()
        {
            if (!st_) {
                return;
            }
            std::lock_guard lock(st_->mutex);
            st_->infos[id_ - 1].state = worker_state::done;
            --st_->running;
            st_->all_ended.notify_all();
        }

    private:
        std::shared_ptr<state> st_;
        std::size_t id_;
    };

    template <class F>
    void update(std::size_t id, F&& f)
    {
        std::lock_guard lock(mutex);
        f(infos[id - 1]);
    }

    void record_success(std::size_t id, worker_state s, worker_status status)
    {
        update(id, [&](worker_info& info) {
            info.state = s;
            info.status = std::move(status);
            info.consecutive_errors = 0;
        });
    }

    void record_error(std::size_t id, std::string const& message, std::optional<worker_status> status)
    {
        std::string name;
        std::uint64_t consecutive = 0;
        update(id, [&](worker_info& info) {
            info.state = worker_state::throttled;
            if (status) {
                info.status = std::move(*status);
            }
            ++info.errors;
            consecutive = ++info.consecutive_errors;
            info.last_error = message;
            info.last_error_msec = now_msec();
            name = info.name;
        });
        spdlog::error("background worker #{} ({}) failed ({} in a row), retrying in {} ms: {}", id, name,
                      consecutive, timing.error_pause.count(), message);
    }

    /// Sleeps `d`, or less if a stop is requested.
    net::awaitable<void> pause(milliseconds d)
    {
        co_await stop->async_wait(d, net::as_tuple(net::use_awaitable));
    }

    /// The stop branch of the idle race: ends on stop or after `d` (or when cancelled).
    static net::awaitable<void> stop_or_timeout(std::shared_ptr<signal_core> stop, milliseconds d)
    {
        co_await stop->async_wait(d, net::as_tuple(net::use_awaitable));
    }

    static net::awaitable<void> run(std::shared_ptr<state> st, std::size_t id, loop_token token,
                                    std::unique_ptr<worker> owned)
    {
        using namespace net::experimental::awaitable_operators;
        (void)token;
        // Destroyed at the end of the body, before the token reports the loop as ended.
        std::unique_ptr<worker> w = std::move(owned);
        auto ex = co_await net::this_coro::executor;

        while (!st->stopping.load()) {
            std::optional<worker_step> step;
            std::string error_message;
            try {
                result<worker_step> r = co_await w->work();
                if (r) {
                    step = *r;
                } else {
                    error_message = r.error().message.empty() ? r.error().code.message() : r.error().message;
                }
            } catch (std::exception const& e) {
                error_message = e.what();
            } catch (...) {
                error_message = "unknown exception";
            }

            std::optional<worker_status> status;
            try {
                status = w->status();
            } catch (...) {
                // a failing status() leaves the previous one in place
            }

            if (!step) {
                st->record_error(id, error_message, std::move(status));
                co_await st->pause(st->timing.error_pause);
                continue;
            }
            st->record_success(id, step->state, status ? std::move(*status) : worker_status{});

            switch (step->state) {
            case worker_state::busy:
                co_await net::post(ex, net::use_awaitable); // let other handlers run
                break;
            case worker_state::throttled:
                if (step->throttle.count() > 0) {
                    co_await st->pause(step->throttle);
                } else {
                    co_await net::post(ex, net::use_awaitable);
                }
                break;
            case worker_state::idle: {
                std::string wait_error;
                try {
                    co_await (w->wait_for_work() || stop_or_timeout(st->stop, st->timing.idle_recheck));
                } catch (std::exception const& e) {
                    wait_error = e.what();
                }
                if (!wait_error.empty() && !st->stopping.load()) {
                    st->record_error(id, "wait_for_work: " + wait_error, std::nullopt);
                    co_await st->pause(st->timing.error_pause);
                }
                break;
            }
            case worker_state::done:
                co_return;
            }
        }
    }
};

background_runner::background_runner(net::any_io_executor ex, worker_timing timing)
    : state_(std::make_shared<state>(std::move(ex), timing))
{
}

background_runner::~background_runner()
{
    request_stop();
}

std::size_t background_runner::spawn(std::unique_ptr<worker> w)
{
    std::size_t id = 0;
    {
        std::lock_guard lock(state_->mutex);
        id = state_->infos.size() + 1;
        worker_info info;
        info.id = id;
        info.name = w->name();
        info.state = worker_state::busy;
        state_->infos.push_back(std::move(info));
        ++state_->running;
    }
    state::loop_token token(state_, id);
    net::co_spawn(net::make_strand(state_->ex), state::run(state_, id, std::move(token), std::move(w)),
                  net::detached);
    return id;
}

std::vector<worker_info> background_runner::list() const
{
    std::lock_guard lock(state_->mutex);
    return state_->infos;
}

void background_runner::request_stop()
{
    if (!state_->stopping.exchange(true)) {
        state_->stop->signal();
    }
}

bool background_runner::stop_requested() const noexcept
{
    return state_->stopping.load();
}

bool background_runner::wait_stopped(std::chrono::milliseconds deadline)
{
    std::unique_lock lock(state_->mutex);
    return state_->all_ended.wait_for(lock, deadline, [this] { return state_->running == 0; });
}

} // namespace garage::util
