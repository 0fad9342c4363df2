#pragma once
/** @file
    Group commit for K2V writes: concurrent requests' writes are applied together, in one
    storage transaction, by one job on the blocking executor. */

#include <garage/model/k2v.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace garage::api::k2v::detail {

/** Applies the writes of concurrent requests in shared transactions.

    A request's writes are queued; when no commit job runs, one is posted to the blocking
    executor. The job takes everything queued, applies it with one `insert_many`, wakes the
    requests, and goes on while more is queued. So 32 concurrent InsertItem requests cost a
    few transactions, not 32. If a shared transaction fails, each request of the group is
    retried alone, so that one bad request cannot fail the others. A waiting request is a
    suspended coroutine.

    @tparam K2v A @ref garage::model::basic_k2v.

    @par Thread Safety
    Shared objects: safe. The object must outlive the blocking executor's jobs.
*/
template <class K2v>
class write_combiner {
public:
    /** @param k2v The K2V tables. @param blocking Where commits run; empty: inline. */
    write_combiner(K2v& k2v, boost::asio::any_io_executor blocking)
        : k2v_(k2v), blocking_(std::move(blocking))
    {
    }

    /** Applies `ws` (in one transaction with other requests' writes).
        @param ws The writes. @return Nothing, or the storage error. */
    boost::asio::awaitable<util::result<void>> insert(std::vector<model::k2v_insert> ws)
    {
        if (!blocking_) {
            co_return k2v_.insert_many(ws);
        }
        auto p = std::make_shared<pending>(co_await boost::asio::this_coro::executor, std::move(ws));
        bool start = false;
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(p);
            start = !running_;
            running_ = true;
        }
        if (start) {
            boost::asio::post(blocking_, [this] { drain(); });
        }
        co_await p->done.async_receive(boost::asio::use_awaitable);
        co_return std::move(p->result);
    }

private:
    struct pending {
        pending(boost::asio::any_io_executor ex, std::vector<model::k2v_insert> w)
            : ws(std::move(w)), done(ex, 1)
        {
        }
        std::vector<model::k2v_insert> ws;
        boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
        util::result<void> result;
    };

    void drain()
    {
        while (true) {
            std::vector<std::shared_ptr<pending>> batch;
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    running_ = false;
                    return;
                }
                batch.swap(queue_);
            }
            util::result<void> all;
            if (batch.size() == 1) {
                all = k2v_.insert_many(batch.front()->ws);
                batch.front()->result = all;
            } else {
                std::vector<model::k2v_insert> ws;
                for (auto const& p : batch) {
                    ws.insert(ws.end(), p->ws.begin(), p->ws.end());
                }
                all = k2v_.insert_many(ws);
                for (auto const& p : batch) {
                    p->result = all ? all : k2v_.insert_many(p->ws);
                }
            }
            for (auto const& p : batch) {
                (void)p->done.try_send(boost::system::error_code{});
            }
        }
    }

    K2v& k2v_;
    boost::asio::any_io_executor blocking_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<pending>> queue_;
    bool running_ = false;
};

} // namespace garage::api::k2v::detail
