#pragma once
// A worker whose step is a coroutine given as a function (the cluster workers of a table:
// insert queue, sync, GC), woken by a shared notifier or after an idle wait.

#include <garage/util/worker.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace garage::table::detail {

class async_worker final : public util::worker {
public:
    using step_function = std::function<util::net::awaitable<util::result<util::worker_step>>()>;
    using status_function = std::function<util::worker_status()>;

    /** @param settle After a wake-up, how long to let work accumulate before the next step
               (zero: none); its timer runs on `settle_ex`. */
    async_worker(std::string name, std::shared_ptr<util::async_notify> notify,
                 std::chrono::milliseconds idle_wait, step_function step, status_function status = {},
                 std::chrono::milliseconds settle = std::chrono::milliseconds(0),
                 util::net::any_io_executor settle_ex = {})
        : name_(std::move(name)), notify_(std::move(notify)), idle_wait_(idle_wait), step_(std::move(step)),
          status_(std::move(status)), settle_(settle), settle_ex_(std::move(settle_ex))
    {
    }

    std::string name() const override { return name_; }
    util::worker_status status() const override { return status_ ? status_() : util::worker_status{}; }
    util::net::awaitable<util::result<util::worker_step>> work() override { return step_(); }
    util::net::awaitable<void> wait_for_work() override
    {
        bool const woken = co_await notify_->wait_for(idle_wait_);
        if (woken && settle_.count() > 0 && settle_ex_) {
            boost::asio::steady_timer timer(settle_ex_, settle_);
            (void)co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
    }

private:
    std::string name_;
    std::shared_ptr<util::async_notify> notify_;
    std::chrono::milliseconds idle_wait_;
    step_function step_;
    status_function status_;
    std::chrono::milliseconds settle_;
    util::net::any_io_executor settle_ex_;
};

} // namespace garage::table::detail
