// Test that header file is self-contained.
#include <garage/util/worker.hpp>

#include <garage/util/time.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

namespace {
using namespace garage::util;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// Runs `f()` (a coroutine) on a fresh io_context in this thread; rethrows its exception.
template <class F>
void run_coro(F f)
{
    net::io_context ctx;
    std::exception_ptr failed;
    net::co_spawn(ctx, f(ctx.get_executor()), [&](std::exception_ptr e) { failed = e; });
    ctx.run();
    if (failed) {
        std::rethrow_exception(failed);
    }
}

std::chrono::milliseconds since(steady::time_point t0)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
}

/// Polls `list()` until worker `id` is in `s` (the runner has no event for this).
bool wait_for_state(background_runner const& runner, std::size_t id, worker_state s,
                    std::chrono::milliseconds deadline = 5s)
{
    auto const t0 = steady::now();
    while (since(t0) < deadline) {
        if (runner.list().at(id - 1).state == s) {
            return true;
        }
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Test workers. They report to the test through atomics and promises, never through Catch2
// (whose assertions are not thread-safe).

class counting_worker final : public worker {
public:
    counting_worker(int steps, std::atomic<int>& calls, std::atomic<bool>& destroyed)
        : steps_(steps), calls_(calls), destroyed_(destroyed)
    {
    }
    ~counting_worker() override { destroyed_ = true; }
    std::string name() const override { return "counting worker"; }
    worker_status status() const override
    {
        worker_status s;
        s.queue_length = static_cast<std::uint64_t>(steps_ - done_);
        s.progress = std::to_string(done_) + "/" + std::to_string(steps_);
        return s;
    }
    net::awaitable<result<worker_step>> work() override
    {
        ++calls_;
        if (done_ == steps_) {
            co_return worker_step::done();
        }
        ++done_;
        co_return worker_step::busy();
    }
    net::awaitable<void> wait_for_work() override { co_return; }

private:
    int steps_;
    int done_ = 0;
    std::atomic<int>& calls_;
    std::atomic<bool>& destroyed_;
};

class throttled_worker final : public worker {
public:
    throttled_worker(int steps, std::chrono::milliseconds throttle) : steps_(steps), throttle_(throttle) {}
    std::string name() const override { return "throttled worker"; }
    net::awaitable<result<worker_step>> work() override
    {
        if (steps_-- == 0) {
            co_return worker_step::done();
        }
        co_return worker_step::throttled(throttle_);
    }
    net::awaitable<void> wait_for_work() override { co_return; }

private:
    int steps_;
    std::chrono::milliseconds throttle_;
};

/// Takes items from a counter the test fills, going idle when it is empty.
class queue_worker final : public worker {
public:
    queue_worker(net::any_io_executor ex, std::atomic<int>& queued, std::atomic<int>& processed,
                 std::atomic<int>& idle_waits)
        : notify_(std::move(ex)), queued_(queued), processed_(processed), idle_waits_(idle_waits)
    {
    }
    std::string name() const override { return "queue worker"; }
    net::awaitable<result<worker_step>> work() override
    {
        int n = queued_.load();
        while (n > 0 && !queued_.compare_exchange_weak(n, n - 1)) {
        }
        if (n <= 0) {
            co_return worker_step::idle();
        }
        ++processed_;
        co_return worker_step::busy();
    }
    net::awaitable<void> wait_for_work() override
    {
        ++idle_waits_;
        co_await notify_.wait();
    }
    void push(int n)
    {
        queued_ += n;
        notify_.notify(); // from the test thread
    }

private:
    async_notify notify_;
    std::atomic<int>& queued_;
    std::atomic<int>& processed_;
    std::atomic<int>& idle_waits_;
};

/// Always idle; waits for work on something that never happens unless cancelled.
class sleepy_worker final : public worker {
public:
    enum class how { notify, timer };
    sleepy_worker(net::any_io_executor ex, how h, std::atomic<int>& calls)
        : ex_(ex), notify_(ex), how_(h), calls_(calls)
    {
    }
    std::string name() const override { return "sleepy worker"; }
    net::awaitable<result<worker_step>> work() override
    {
        ++calls_;
        co_return worker_step::idle();
    }
    net::awaitable<void> wait_for_work() override
    {
        if (how_ == how::notify) {
            co_await notify_.wait();
        } else {
            net::steady_timer t(ex_, std::chrono::hours(1));
            co_await t.async_wait(net::use_awaitable);
        }
    }

private:
    net::any_io_executor ex_;
    async_notify notify_;
    how how_;
    std::atomic<int>& calls_;
};

/// Fails with a result, then with an exception, then succeeds once and finishes.
class failing_worker final : public worker {
public:
    explicit failing_worker(std::promise<void>& finished) : finished_(finished) {}
    std::string name() const override { return "failing worker"; }
    net::awaitable<result<worker_step>> work() override
    {
        switch (call_++) {
        case 0:
            co_return failure(error::io_error, "disk on fire");
        case 1:
            throw std::runtime_error("thrown by work");
        case 2:
            co_return worker_step::busy();
        default:
            finished_.set_value();
            co_return worker_step::idle();
        }
    }
    net::awaitable<void> wait_for_work() override
    {
        net::steady_timer t(co_await net::this_coro::executor, std::chrono::hours(1));
        co_await t.async_wait(net::use_awaitable);
    }

private:
    int call_ = 0;
    std::promise<void>& finished_;
};

/// Fails forever.
class broken_worker final : public worker {
public:
    std::string name() const override { return "broken worker"; }
    net::awaitable<result<worker_step>> work() override { co_return failure(error::crypto_error, "broken"); }
    net::awaitable<void> wait_for_work() override { co_return; }
};

// ---------------------------------------------------------------------------------------------
// async_notify

TEST_CASE("async_notify keeps one permit when nobody waits", "[util][worker][notify]")
{
    run_coro([](net::any_io_executor ex) -> net::awaitable<void> {
        async_notify n(ex);
        n.notify();
        n.notify(); // permits do not accumulate
        co_await n.wait();
        bool const second = co_await n.wait_for(20ms);
        CHECK_FALSE(second);
    });
}

TEST_CASE("async_notify wait_for times out and then sees a later notify", "[util][worker][notify]")
{
    run_coro([](net::any_io_executor ex) -> net::awaitable<void> {
        async_notify n(ex);
        auto const t0 = steady::now();
        // (co_await stays outside Catch2's macros, which expand their argument more than once)
        bool const notified = co_await n.wait_for(30ms);
        CHECK_FALSE(notified);
        CHECK(since(t0) >= 30ms);
        n.notify();
        bool const later = co_await n.wait_for(10s);
        CHECK(later);
    });
}

TEST_CASE("async_notify wakes every current waiter and leaves no permit", "[util][worker][notify]")
{
    run_coro([](net::any_io_executor ex) -> net::awaitable<void> {
        async_notify n(ex);
        int woken = 0;
        auto waiter = [](async_notify* n, int* woken) -> net::awaitable<void> {
            co_await n->wait();
            ++*woken;
        };
        for (int i = 0; i < 3; ++i) {
            net::co_spawn(ex, waiter(&n, &woken), net::detached);
        }
        net::steady_timer t(ex, 20ms); // let the three start waiting
        co_await t.async_wait(net::use_awaitable);
        CHECK(woken == 0);
        n.notify();
        t.expires_after(20ms);
        co_await t.async_wait(net::use_awaitable);
        CHECK(woken == 3);
        bool const again = co_await n.wait_for(10ms);
        CHECK_FALSE(again); // the waiters consumed the notification
    });
}

TEST_CASE("async_notify can be notified from another thread", "[util][worker][notify]")
{
    net::io_context ctx;
    async_notify n(ctx.get_executor());
    std::atomic<bool> woke{false};
    net::co_spawn(
        ctx,
        [](async_notify* n, std::atomic<bool>* woke) -> net::awaitable<void> {
            co_await n->wait();
            *woke = true;
        }(&n, &woke),
        net::detached);
    std::thread runner([&] { ctx.run(); }); // run() returns only once the waiter is done
    std::this_thread::sleep_for(20ms);
    CHECK_FALSE(woke.load());
    n.notify();
    runner.join();
    CHECK(woke.load());
}

TEST_CASE("a cancelled async_notify wait leaves the notification for the next wait", "[util][worker][notify]")
{
    run_coro([](net::any_io_executor ex) -> net::awaitable<void> {
        using namespace net::experimental::awaitable_operators;
        async_notify n(ex);
        net::steady_timer t(ex, 20ms);
        auto const winner = co_await (n.wait() || t.async_wait(net::use_awaitable));
        CHECK(winner.index() == 1); // the timer won and the wait was cancelled
        n.notify();                 // nobody waits now: a permit
        bool const permit = co_await n.wait_for(10ms);
        CHECK(permit);
    });
}

TEST_CASE("destroying an async_notify aborts its waiters", "[util][worker][notify]")
{
    run_coro([](net::any_io_executor ex) -> net::awaitable<void> {
        auto n = std::make_unique<async_notify>(ex);
        bool aborted = false;
        auto waiter = [](async_notify* n, bool* aborted) -> net::awaitable<void> {
            try {
                co_await n->wait();
            } catch (boost::system::system_error const& e) {
                *aborted = e.code() == net::error::operation_aborted;
            }
        };
        net::co_spawn(ex, waiter(n.get(), &aborted), net::detached);
        net::steady_timer t(ex, 10ms);
        co_await t.async_wait(net::use_awaitable);
        n.reset();
        t.expires_after(10ms);
        co_await t.async_wait(net::use_awaitable);
        CHECK(aborted);
    });
}

// ---------------------------------------------------------------------------------------------
// tranquilizer

TEST_CASE("tranquilizer sleeps tranquility times the average step", "[util][worker][tranquilizer]")
{
    tranquilizer t;
    CHECK(t.record(10ms, 2) == worker_step::throttled(20ms));
    CHECK(t.record(20ms, 2) == worker_step::throttled(30ms));            // avg 15 ms
    CHECK(t.record(30ms, 1) == worker_step::throttled(20ms));            // avg 20 ms
    CHECK(t.record(30ms, 0) == worker_step::busy());                     // tranquility 0: no pause
    CHECK(t.record(std::chrono::microseconds(300), 1).throttle == 18ms); // (10+20+30+30+0.3)/5 = 18.06
}

TEST_CASE("tranquilizer averages over its last N steps only", "[util][worker][tranquilizer]")
{
    tranquilizer t(3);
    t.record(100ms, 1);
    t.record(10ms, 1);
    t.record(10ms, 1);
    CHECK(t.record(10ms, 1) == worker_step::throttled(10ms));             // 100 ms has left the window
    CHECK(t.record(std::chrono::microseconds(1400), 4).throttle == 29ms); // (10+10+1.4)/3*4 = 28.53
}

TEST_CASE("tranquilizer measures real steps between reset and tranquilize", "[util][worker][tranquilizer]")
{
    tranquilizer t;
    t.reset();
    std::this_thread::sleep_for(20ms);
    auto const step = t.tranquilize(2);
    CHECK(step.state == worker_state::throttled);
    CHECK(step.throttle >= 40ms);
    CHECK(step.throttle < 2000ms);
    t.reset();
    CHECK(t.tranquilize(0) == worker_step::busy());
}

// ---------------------------------------------------------------------------------------------
// background_runner

TEST_CASE("a busy worker runs its steps, reports done and is destroyed", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor());
    std::atomic<int> calls{0};
    std::atomic<bool> destroyed{false};
    auto const id = runner.spawn(std::make_unique<counting_worker>(1000, calls, destroyed));
    CHECK(id == 1);
    REQUIRE(runner.wait_stopped(5s)); // the loop ends by itself on done
    CHECK(calls.load() == 1001);
    CHECK(destroyed.load());
    auto const infos = runner.list();
    REQUIRE(infos.size() == 1);
    CHECK(infos[0].id == 1);
    CHECK(infos[0].name == "counting worker");
    CHECK(infos[0].state == worker_state::done);
    CHECK(infos[0].status.progress == "1000/1000");
    CHECK(infos[0].status.queue_length == 0u);
    CHECK(infos[0].errors == 0);
}

TEST_CASE("several workers run side by side and are listed by id", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor());
    std::atomic<int> calls{0};
    std::atomic<bool> d1{false}, d2{false}, d3{false};
    runner.spawn(std::make_unique<counting_worker>(100, calls, d1));
    runner.spawn(std::make_unique<counting_worker>(200, calls, d2));
    runner.spawn(std::make_unique<counting_worker>(300, calls, d3));
    REQUIRE(runner.wait_stopped(5s));
    CHECK(calls.load() == 603);
    auto const infos = runner.list();
    REQUIRE(infos.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(infos[i].id == i + 1);
        CHECK(infos[i].state == worker_state::done);
    }
}

TEST_CASE("a throttled worker sleeps between its steps", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor());
    auto const t0 = steady::now();
    runner.spawn(std::make_unique<throttled_worker>(4, 25ms));
    REQUIRE(runner.wait_stopped(5s));
    CHECK(since(t0) >= 100ms);
}

TEST_CASE("an idle worker is woken by async_notify well before the idle cap", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor(), worker_timing{std::chrono::hours(1), 10s});
    std::atomic<int> queued{0}, processed{0}, idle_waits{0};
    auto owned = std::make_unique<queue_worker>(pool.get_executor(), queued, processed, idle_waits);
    auto* w = owned.get(); // lives until the runner's loop ends
    auto const id = runner.spawn(std::move(owned));
    REQUIRE(wait_for_state(runner, id, worker_state::idle));

    w->push(5);
    auto const t0 = steady::now();
    while (processed.load() < 5 && since(t0) < 5s) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(processed.load() == 5);
    REQUIRE(wait_for_state(runner, id, worker_state::idle));

    w->push(3);
    while (processed.load() < 8 && since(t0) < 5s) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(processed.load() == 8);
    CHECK(idle_waits.load() >= 2);

    runner.request_stop();
    CHECK(runner.wait_stopped(2s));
}

TEST_CASE("an idle worker is polled again after the idle cap", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor(), worker_timing{20ms, 10s});
    std::atomic<int> calls{0};
    runner.spawn(std::make_unique<sleepy_worker>(pool.get_executor(), sleepy_worker::how::notify, calls));
    auto const t0 = steady::now();
    while (calls.load() < 4 && since(t0) < 5s) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(calls.load() >= 4);
    runner.request_stop();
    CHECK(runner.wait_stopped(2s));
}

TEST_CASE("stop interrupts waiting workers promptly", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor()); // Garage's 10 s caps
    std::atomic<int> calls{0};
    std::atomic<bool> destroyed{false};
    auto const a =
        runner.spawn(std::make_unique<sleepy_worker>(pool.get_executor(), sleepy_worker::how::notify, calls));
    auto const b =
        runner.spawn(std::make_unique<sleepy_worker>(pool.get_executor(), sleepy_worker::how::timer, calls));
    auto const c = runner.spawn(std::make_unique<throttled_worker>(1, std::chrono::hours(1)));
    auto const d = runner.spawn(std::make_unique<broken_worker>()); // in its 10 s error pause
    REQUIRE(wait_for_state(runner, a, worker_state::idle));
    REQUIRE(wait_for_state(runner, b, worker_state::idle));
    REQUIRE(wait_for_state(runner, c, worker_state::throttled));
    REQUIRE(wait_for_state(runner, d, worker_state::throttled));

    CHECK_FALSE(runner.wait_stopped(10ms)); // nothing ends by itself
    auto const t0 = steady::now();
    runner.request_stop();
    CHECK(runner.stop_requested());
    REQUIRE(runner.wait_stopped(2s));
    CHECK(since(t0) < 1s);
    for (auto const& info : runner.list()) {
        CHECK(info.state == worker_state::done);
    }

    // A worker spawned after the stop is listed but never runs.
    std::atomic<int> late_calls{0};
    auto const e = runner.spawn(std::make_unique<counting_worker>(10, late_calls, destroyed));
    REQUIRE(runner.wait_stopped(2s));
    CHECK(late_calls.load() == 0);
    CHECK(destroyed.load());
    CHECK(runner.list().at(e - 1).state == worker_state::done);
}

TEST_CASE("errors are counted, recorded and retried", "[util][worker][runner]")
{
    net::thread_pool pool(2);
    background_runner runner(pool.get_executor(), worker_timing{10s, 10ms});
    std::promise<void> finished;
    auto const id = runner.spawn(std::make_unique<failing_worker>(finished));
    auto const before = now_msec();
    REQUIRE(finished.get_future().wait_for(5s) == std::future_status::ready);
    REQUIRE(wait_for_state(runner, id, worker_state::idle));
    auto const info = runner.list().at(id - 1);
    CHECK(info.errors == 2);
    CHECK(info.consecutive_errors == 0); // reset by the successful step
    REQUIRE(info.last_error);
    CHECK(*info.last_error == "thrown by work");
    CHECK(info.last_error_msec >= before);

    auto const broken = runner.spawn(std::make_unique<broken_worker>());
    auto const t0 = steady::now();
    std::uint64_t consecutive = 0;
    while (consecutive < 3 && since(t0) < 5s) {
        consecutive = runner.list().at(broken - 1).consecutive_errors;
        std::this_thread::sleep_for(1ms);
    }
    auto const b = runner.list().at(broken - 1);
    CHECK(b.consecutive_errors >= 3);
    CHECK(b.errors == b.consecutive_errors);
    CHECK(b.last_error == "broken");

    runner.request_stop();
    CHECK(runner.wait_stopped(2s));
}

TEST_CASE("worker states have lower-case names", "[util][worker]")
{
    CHECK(to_string(worker_state::busy) == "busy");
    CHECK(to_string(worker_state::throttled) == "throttled");
    CHECK(to_string(worker_state::idle) == "idle");
    CHECK(to_string(worker_state::done) == "done");
}
} // namespace
