#pragma once
// Detached background tasks counted so that their owner can wait for them (a gate); the join
// of several awaitables (util::when_all) is re-exported here.

#include <garage/util/error.hpp>
#include <garage/util/when_all.hpp>
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

using util::when_all;

} // namespace garage::table::detail
