#pragma once
/** @file
    Group commit: many small write transactions of concurrent requests committed as one.
*/

#include <garage/storage/concepts.hpp>
#include <garage/storage/error.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace garage::storage {

namespace net = boost::asio;

/** Commits the write functions of concurrent callers in shared transactions.

    A metadata write of a small request (an object, its version, its block reference) costs
    mostly the commit: the copied B-tree paths, the meta page, the writer lock handed from
    thread to thread. A `group_committer` queues the write functions of all callers and runs
    them in batches on one thread of an executor (the blocking pool), each batch in one
    transaction: the first caller of an idle committer starts a batch, the callers arriving
    while it commits form the next one. Each caller's completion runs on its own executor.

    A function that fails (or throws) fails the whole batch transaction, which is then rolled
    back; each function of the batch is then run again alone, in its own transaction, so that
    each caller gets its own result and no caller sees another's failure. Functions must
    therefore only write through the transaction they are given (running one again after a
    rollback must be harmless), and must stay valid until their completion.

    @tparam Backend A `storage_backend`.

    @par Thread Safety
    @ref async_commit may be called from any thread. The committer must outlive every commit
    in flight.
*/
template <storage_backend Backend>
class group_committer {
public:
    /// A write function: writes through the transaction; a failure rolls it back.
    using function_type = std::function<util::result<void>(typename Backend::transaction_type&)>;

    /** @param db The backend. @param executor Where batches run (blocking calls are fine).
        @param max_batch The most functions committed in one transaction. */
    group_committer(Backend& db, net::any_io_executor executor, std::size_t max_batch = 256)
        : db_(db), executor_(std::move(executor)), max_batch_(max_batch == 0 ? 1 : max_batch)
    {
    }

    group_committer(group_committer const&) = delete;
    group_committer& operator=(group_committer const&) = delete;

    /** Queues `fn` for the next batch.
        @param fn The write function. @param token Completion: `void(util::result<void>)`.
        @return As the token says (`net::use_awaitable`: an awaitable result). */
    template <class CompletionToken>
    auto async_commit(function_type fn, CompletionToken&& token)
    {
        return net::async_initiate<CompletionToken, void(util::result<void>)>(
            [this](auto handler, function_type f) {
                auto ex = net::get_associated_executor(handler, executor_);
                bool start = false;
                {
                    std::lock_guard lock(mutex_);
                    queue_.push_back(
                        std::make_unique<pending>(pending{std::move(f), std::move(handler), std::move(ex)}));
                    if (!running_) {
                        running_ = true;
                        start = true;
                    }
                }
                if (start) {
                    net::post(executor_, [this] { run(); });
                }
            },
            token, std::move(fn));
    }

    /// @return The number of transactions committed (batches and lone retries).
    std::size_t transactions() const
    {
        std::lock_guard lock(mutex_);
        return transactions_;
    }

private:
    struct pending {
        function_type fn;
        net::any_completion_handler<void(util::result<void>)> handler;
        net::any_io_executor executor;
    };

    static util::result<void> call(function_type& fn, typename Backend::transaction_type& tx)
    {
        try {
            return fn(tx);
        } catch (std::exception const& e) {
            return util::failure(error::aborted, std::string("write function threw: ") + e.what());
        } catch (...) {
            return util::failure(error::aborted, "write function threw");
        }
    }

    void run()
    {
        for (;;) {
            std::vector<std::unique_ptr<pending>> batch;
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    running_ = false;
                    return;
                }
                auto const n = std::min(queue_.size(), max_batch_);
                batch.reserve(n);
                std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                          std::back_inserter(batch));
                queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
            }
            std::vector<util::result<void>> results(batch.size());
            std::size_t commits = 1;
            auto all = db_.transact([&](typename Backend::transaction_type& tx) -> util::result<void> {
                for (auto& p : batch) {
                    if (auto r = call(p->fn, tx); !r) {
                        return r;
                    }
                }
                return {};
            });
            if (!all && batch.size() == 1) {
                results[0] = all;
            } else if (!all) {
                // Someone failed: each one alone, so that only the failing ones fail.
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    results[i] = db_.transact(
                        [&](typename Backend::transaction_type& tx) { return call(batch[i]->fn, tx); });
                }
                commits += batch.size();
            }
            {
                std::lock_guard lock(mutex_);
                transactions_ += commits;
            }
            for (std::size_t i = 0; i < batch.size(); ++i) {
                auto& p = *batch[i];
                net::post(p.executor, [h = std::move(p.handler), r = std::move(results[i])]() mutable {
                    std::move(h)(std::move(r));
                });
            }
        }
    }

    Backend& db_;
    net::any_io_executor executor_;
    std::size_t max_batch_;
    mutable std::mutex mutex_;
    // pointers: any_completion_handler (Boost 1.81) must never be copied, and a vector of
    // values could copy when it grows
    std::vector<std::unique_ptr<pending>> queue_;
    bool running_ = false;
    std::size_t transactions_ = 0;
};

} // namespace garage::storage
