#pragma once
// Private helpers of block_exchange: a gate counting work in flight, running blocking work on
// a thread pool from a coroutine, and awaiting a coroutine from a thread that is not the
// network's.

#include <garage/block/error.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace garage::block::detail {

namespace net = boost::asio;

/// Counts the work in flight of a service (Seastar's gate): `enter()` hands out a token that
/// leaves when its last copy dies; after `close()`, `enter()` refuses and `wait_idle()` waits
/// for the tokens out.
class gate {
public:
    /// A token: the gate stays busy while any copy of it lives (empty: refused).
    using token = std::shared_ptr<void>;

    explicit gate(net::any_io_executor ex) : st_(std::make_shared<state>(std::move(ex))) {}

    token enter()
    {
        std::lock_guard lock(st_->mutex);
        if (st_->closed) {
            return nullptr;
        }
        ++st_->count;
        return token(static_cast<void*>(st_.get()), [st = st_](void*) { st->leave(); });
    }

    void close()
    {
        std::lock_guard lock(st_->mutex);
        st_->closed = true;
    }

    std::size_t in_flight() const
    {
        std::lock_guard lock(st_->mutex);
        return st_->count;
    }

    net::awaitable<void> wait_idle()
    {
        while (in_flight() > 0) {
            co_await st_->idle.wait_for(std::chrono::milliseconds(100));
        }
    }

private:
    struct state {
        explicit state(net::any_io_executor ex) : idle(std::move(ex)) {}
        void leave()
        {
            std::size_t left = 0;
            {
                std::lock_guard lock(mutex);
                left = --count;
            }
            if (left == 0) {
                idle.notify();
            }
        }
        mutable std::mutex mutex;
        std::size_t count = 0;
        bool closed = false;
        util::async_notify idle;
    };
    std::shared_ptr<state> st_;
};

/// Runs `f` on `blocking` and resumes on the caller's executor; inline when `blocking` is
/// empty. Not cancellable (blocking work cannot be interrupted). An exception thrown by `f`
/// becomes an `error::io_error` result when `f` returns a `util::result`.
///
/// Written with `async_initiate` and plain handlers, not `co_spawn` of a capturing coroutine
/// lambda: g++ 12 destroys a lambda temporary of a `co_await` expression twice, which
/// releases a captured `shared_ptr` twice.
template <class F>
net::awaitable<std::invoke_result_t<F&>> run_blocking(net::any_io_executor const& blocking, F f)
{
    using result_type = std::invoke_result_t<F&>;
    if (!blocking) {
        co_return f();
    }
    auto initiation = [&blocking, &f](auto handler) {
        auto work = net::make_work_guard(net::get_associated_executor(handler));
        net::post(blocking, [fn = std::move(f), h = std::move(handler), w = std::move(work)]() mutable {
            std::optional<result_type> r;
            if constexpr (std::is_constructible_v<result_type, util::failure>) {
                try {
                    r.emplace(fn());
                } catch (std::exception const& e) {
                    r.emplace(util::failure(error::io_error, e.what()));
                }
            } else {
                r.emplace(fn());
            }
            auto ex = w.get_executor();
            net::post(ex, [h = std::move(h), r = std::move(*r)]() mutable { std::move(h)(std::move(r)); });
        });
    };
    co_return co_await net::async_initiate<decltype(net::use_awaitable) const, void(result_type)>(
        initiation, net::use_awaitable);
}

/// True when the calling thread runs `ex`'s io_context (waiting there would deadlock).
inline bool runs_in_this_thread(net::any_io_executor const& ex)
{
    if (auto const* io = ex.target<net::io_context::executor_type>()) {
        return io->running_in_this_thread();
    }
    return false;
}

/// Runs the coroutine `a` on `ex` and waits for it in this thread (a resync worker's, on a
/// thread pool): the bridge from the block manager's blocking fetcher to the async RPCs.
template <class T>
util::result<T> await_from_thread(net::any_io_executor const& ex, net::awaitable<util::result<T>> a)
{
    if (runs_in_this_thread(ex)) {
        return util::failure(error::invalid_options,
                             "a block fetch was called from a thread of the network's executor (it would "
                             "wait for itself); run the resync workers on another thread pool");
    }
    auto fut = net::co_spawn(ex, std::move(a), net::use_future);
    try {
        return fut.get();
    } catch (std::exception const& e) {
        return util::failure(error::io_error, std::string("block RPC failed: ") + e.what());
    }
}

} // namespace garage::block::detail
