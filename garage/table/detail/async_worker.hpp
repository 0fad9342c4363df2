#pragma once
// A worker whose step is a coroutine given as a function (the cluster workers of a table:
// insert queue, sync, GC), woken by a shared notifier or after an idle wait.

#include <garage/util/worker.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace garage::table::detail {

class async_worker final : public util::worker {
public:
    using step_function = std::function<util::net::awaitable<util::result<util::worker_step>>()>;
    using status_function = std::function<util::worker_status()>;

    async_worker(std::string name, std::shared_ptr<util::async_notify> notify,
                 std::chrono::milliseconds idle_wait, step_function step, status_function status = {})
        : name_(std::move(name)), notify_(std::move(notify)), idle_wait_(idle_wait), step_(std::move(step)),
          status_(std::move(status))
    {
    }

    std::string name() const override { return name_; }
    util::worker_status status() const override { return status_ ? status_() : util::worker_status{}; }
    util::net::awaitable<util::result<util::worker_step>> work() override { return step_(); }
    util::net::awaitable<void> wait_for_work() override { co_await notify_->wait_for(idle_wait_); }

private:
    std::string name_;
    std::shared_ptr<util::async_notify> notify_;
    std::chrono::milliseconds idle_wait_;
    step_function step_;
    status_function status_;
};

} // namespace garage::table::detail
