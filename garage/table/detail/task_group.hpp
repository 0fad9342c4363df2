#pragma once
// Detached background tasks counted so that their owner can wait for them (a gate), and a
// join of several awaitables run concurrently.

#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

namespace garage::table::detail {

namespace net = boost::asio;

/// Counts detached coroutines; `wait_idle` resolves once none is running.
class task_group {
public:
    explicit task_group(net::any_io_executor ex) : st_(std::make_shared<state>(std::move(ex))) {}

    /// Runs `task` detached on `st_->ex`; exceptions are swallowed (tasks report through logs).
    void spawn(net::awaitable<void> task)
    {
        st_->count.fetch_add(1);
        net::co_spawn(st_->ex, std::move(task), [st = st_](std::exception_ptr) {
            st->count.fetch_sub(1);
            st->notify.notify();
        });
    }

    std::size_t running() const noexcept { return st_->count.load(); }

    net::awaitable<void> wait_idle()
    {
        auto st = st_;
        while (st->count.load() > 0) {
            co_await st->notify.wait_for(std::chrono::milliseconds(100));
        }
    }

private:
    struct state {
        explicit state(net::any_io_executor e) : ex(e), notify(std::move(e)) {}
        net::any_io_executor ex;
        std::atomic<std::size_t> count{0};
        util::async_notify notify;
    };
    std::shared_ptr<state> st_;
};

/// Runs every task concurrently on the current executor and returns their results in order.
template <class T>
net::awaitable<std::vector<util::result<T>>> when_all(std::vector<net::awaitable<util::result<T>>> tasks)
{
    struct state {
        explicit state(net::any_io_executor ex, std::size_t n) : notify(std::move(ex)), results(n) {}
        util::async_notify notify;
        std::mutex mutex;
        std::vector<std::optional<util::result<T>>> results;
        std::size_t done = 0;
    };
    auto ex = co_await net::this_coro::executor;
    auto st = std::make_shared<state>(ex, tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        net::co_spawn(ex, std::move(tasks[i]), [st, i](std::exception_ptr e, util::result<T> r) {
            {
                std::lock_guard lock(st->mutex);
                if (e) {
                    st->results[i] = util::result<T>(util::failure(util::error::io_error, "task threw"));
                } else {
                    st->results[i] = std::move(r);
                }
                ++st->done;
            }
            st->notify.notify();
        });
    }
    for (;;) {
        {
            std::lock_guard lock(st->mutex);
            if (st->done == st->results.size()) {
                break;
            }
        }
        co_await st->notify.wait();
    }
    std::vector<util::result<T>> out;
    out.reserve(st->results.size());
    for (auto& r : st->results) {
        out.push_back(std::move(*r));
    }
    co_return out;
}

} // namespace garage::table::detail
