#pragma once
/** @file
    An asynchronous byte budget: a counting semaphore over bytes that coroutines await before
    buffering data (Garage's `block_ram_buffer_max`), so that all uploads together hold a
    bounded amount of RAM. A util of its own (it was `api::http::byte_budget`) so that the
    block layer bounds its in-flight block writes with it too. */

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace garage::util {

/** A budget of bytes shared by concurrent coroutines.

    `acquire(n)` completes once `n` bytes are available (requests larger than the whole budget
    are clamped to it, so they wait for an otherwise idle budget rather than forever); the bytes
    return to the budget when the @ref lease is destroyed or released. Waiters are served in
    arrival order (a large request is not starved by a stream of small ones).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (`acquire` and releases from any thread; a
    waiter resumes on its own executor).

    @par Example
    @code
    byte_budget budget(256 << 20);
    auto lease = co_await budget.acquire(block_size);
    // ... buffer up to block_size bytes; they count against the budget until `lease` ends
    @endcode */
class byte_budget {
public:
    /** A held part of the budget; gives it back when destroyed (move-only). */
    class lease {
    public:
        /// A lease of nothing.
        lease() = default;
        /** Takes over another lease's bytes. @param o The lease to take from; it holds nothing after. */
        lease(lease&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)), bytes_(o.bytes_) {}
        /** Gives back this lease's bytes and takes over another's.
            @param o The lease to take from; it holds nothing after. @return `*this`. */
        lease& operator=(lease&& o) noexcept
        {
            if (this != &o) {
                release();
                budget_ = std::exchange(o.budget_, nullptr);
                bytes_ = o.bytes_;
            }
            return *this;
        }
        lease(lease const&) = delete;
        lease& operator=(lease const&) = delete;
        ~lease() { release(); }

        /// Gives the bytes back now (idempotent).
        void release() noexcept
        {
            if (auto* b = std::exchange(budget_, nullptr)) {
                b->give_back(bytes_);
            }
        }
        /// @return The bytes held (0 once released or for an empty lease).
        std::uint64_t bytes() const noexcept { return budget_ ? bytes_ : 0; }

    private:
        friend class byte_budget;
        lease(byte_budget* b, std::uint64_t n) noexcept : budget_(b), bytes_(n) {}
        byte_budget* budget_ = nullptr;
        std::uint64_t bytes_ = 0;
    };

    /** @param capacity The total bytes (0 means unlimited: `acquire` never waits). */
    explicit byte_budget(std::uint64_t capacity) noexcept : capacity_(capacity), available_(capacity) {}
    byte_budget(byte_budget const&) = delete;
    byte_budget& operator=(byte_budget const&) = delete;

    /** Waits until `n` bytes (at most the capacity) are available and takes them.
        @param n The bytes wanted.
        @return A lease on the bytes. */
    boost::asio::awaitable<lease> acquire(std::uint64_t n)
    {
        if (capacity_ == 0) {
            co_return lease{};
        }
        n = std::min(n, capacity_);
        if (try_take(n)) {
            co_return lease{this, n};
        }
        co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
            [this, n](auto handler) {
                std::unique_lock lk(mu_);
                auto w = std::make_unique<waiter_impl<decltype(handler)>>(n, std::move(handler));
                if (waiters_.empty() && available_ >= n) { // freed between try_take and here
                    available_ -= n;
                    note_peak();
                    lk.unlock();
                    w->complete();
                    return;
                }
                waiters_.push_back(std::move(w));
            },
            boost::asio::use_awaitable);
        co_return lease{this, n}; // the bytes were taken for us by give_back
    }

    /** Takes `n` bytes (at most the capacity) if available now, without waiting.
        @param n The bytes wanted.
        @return A lease, or an empty one (`bytes() == 0`) if the bytes are not available. */
    lease try_acquire(std::uint64_t n)
    {
        if (capacity_ == 0) {
            return lease{};
        }
        n = std::min(n, capacity_);
        return try_take(n) ? lease{this, n} : lease{};
    }

    /// @return The total bytes (0: unlimited).
    std::uint64_t capacity() const noexcept { return capacity_; }
    /// @return The bytes not held by any lease.
    std::uint64_t available() const
    {
        std::lock_guard lk(mu_);
        return available_;
    }
    /// @return The most bytes ever held by leases at once (a high-water mark, for tests and metrics).
    std::uint64_t peak_in_use() const
    {
        std::lock_guard lk(mu_);
        return peak_in_use_;
    }
    /// @return The number of coroutines waiting.
    std::size_t waiting() const
    {
        std::lock_guard lk(mu_);
        return waiters_.size();
    }

private:
    /// A suspended `acquire`: its size and its completion handler.
    struct waiter {
        explicit waiter(std::uint64_t n) : bytes(n) {}
        virtual ~waiter() = default;
        /// Resumes the waiter on its own executor.
        virtual void complete() = 0;
        std::uint64_t bytes;
    };

    template <class Handler>
    struct waiter_impl final : waiter {
        waiter_impl(std::uint64_t n, Handler h)
            : waiter(n), work(boost::asio::make_work_guard(boost::asio::get_associated_executor(h))),
              handler(std::move(h))
        {
        }
        void complete() override
        {
            auto ex = work.get_executor();
            boost::asio::post(ex, std::move(handler));
            work.reset();
        }
        boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work;
        Handler handler;
    };

    void note_peak() noexcept // under mu_
    {
        peak_in_use_ = std::max(peak_in_use_, capacity_ - available_);
    }

    bool try_take(std::uint64_t n)
    {
        std::lock_guard lk(mu_);
        if (!waiters_.empty() || available_ < n) {
            return false;
        }
        available_ -= n;
        note_peak();
        return true;
    }

    void give_back(std::uint64_t n) noexcept
    {
        std::vector<std::unique_ptr<waiter>> ready;
        {
            std::lock_guard lk(mu_);
            available_ += n;
            while (!waiters_.empty() && waiters_.front()->bytes <= available_) {
                available_ -= waiters_.front()->bytes;
                note_peak();
                ready.push_back(std::move(waiters_.front()));
                waiters_.pop_front();
            }
        }
        for (auto& w : ready) {
            w->complete();
        }
    }

    std::uint64_t const capacity_;
    mutable std::mutex mu_;
    std::uint64_t available_;
    std::uint64_t peak_in_use_ = 0;
    std::deque<std::unique_ptr<waiter>> waiters_;
};

} // namespace garage::util
