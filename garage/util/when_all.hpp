#pragma once
// The join of several awaitables run concurrently (results in order).

#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace garage::util {

namespace net = boost::asio;

/** Runs every task concurrently on the current executor and returns their results in order.
    @param tasks The tasks.
    @return An awaitable of their results, in the order of `tasks`. */
template <class T>
net::awaitable<std::vector<result<T>>> when_all(std::vector<net::awaitable<result<T>>> tasks)
{
    struct state {
        explicit state(net::any_io_executor ex, std::size_t n) : notify(std::move(ex)), results(n) {}
        util::async_notify notify;
        std::mutex mutex;
        std::vector<std::optional<result<T>>> results;
        std::size_t done = 0;
    };
    auto ex = co_await net::this_coro::executor;
    auto st = std::make_shared<state>(ex, tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        net::co_spawn(ex, std::move(tasks[i]), [st, i](std::exception_ptr e, result<T> r) {
            {
                std::lock_guard lock(st->mutex);
                if (e) {
                    st->results[i] = result<T>(failure(error::io_error, "task threw"));
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
    std::vector<result<T>> out;
    out.reserve(st->results.size());
    for (auto& r : st->results) {
        out.push_back(std::move(*r));
    }
    co_return out;
}

} // namespace garage::util
