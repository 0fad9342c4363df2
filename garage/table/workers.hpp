#pragma once
/** @file
    The background workers of a table: Merkle updater, insert queue and tombstone GC.
*/

#include <garage/table/table.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace garage::table {

namespace detail {

namespace net = boost::asio;

/// Applies one step of a table's maintenance, as one of Garage's "<table> <role>" workers.
template <class Table, class Step>
class table_worker final : public util::worker {
public:
    /** @param settle After a wake-up, how long to let work accumulate before the next step
               (zero: none); a step that did less than a full batch then waits again. */
    table_worker(Table& t, std::string role, util::net::any_io_executor ex,
                 std::chrono::milliseconds idle_wait, Step step,
                 std::chrono::milliseconds settle = std::chrono::milliseconds(0))
        : table_(t), name_(std::string(Table::name()) + " " + std::move(role)),
          notify_(std::make_shared<util::async_notify>(ex)), idle_wait_(idle_wait), settle_(settle),
          timer_(std::move(ex)), step_(std::move(step))
    {
    }

    /// The worker's wake-up signal; shared so that a table may signal a worker that has ended.
    std::shared_ptr<util::async_notify> const& notifier() const noexcept { return notify_; }

    std::string name() const override { return name_; }

    util::worker_status status() const override
    {
        util::worker_status s;
        if (auto n = step_.pending(table_)) {
            s.queue_length = *n;
        }
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override
    {
        auto n = step_.run(table_);
        if (!n) {
            co_return n.error();
        }
        bool const more = settle_.count() > 0 ? step_.full(*n) : *n > 0;
        co_return more ? util::worker_step::busy() : util::worker_step::idle();
    }

    util::net::awaitable<void> wait_for_work() override
    {
        bool const woken = co_await notify_->wait_for(idle_wait_);
        if (woken && settle_.count() > 0) {
            timer_.expires_after(settle_);
            (void)co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        }
    }

private:
    Table& table_;
    std::string name_;
    std::shared_ptr<util::async_notify> notify_;
    std::chrono::milliseconds idle_wait_;
    std::chrono::milliseconds settle_;
    net::steady_timer timer_;
    Step step_;
};

struct merkle_step {
    std::size_t batch;
    /// Whether a step that handled `n` updates left more waiting (a full batch).
    bool full(std::size_t n) const noexcept { return n >= batch; }
    template <class Table>
    util::result<std::size_t> run(Table& t) const
    {
        return t.merkle().update_batch(batch);
    }
    template <class Table>
    util::result<std::size_t> pending(Table& t) const
    {
        return t.merkle().todo_len();
    }
};

struct queue_step {
    std::size_t batch;
    /// Whether a flush of `n` entries left more waiting (a full batch).
    bool full(std::size_t n) const noexcept { return n >= batch; }
    template <class Table>
    util::result<std::size_t> run(Table& t) const
    {
        return t.flush_insert_queue();
    }
    template <class Table>
    util::result<std::size_t> pending(Table& t) const
    {
        return t.insert_queue_len();
    }
};

struct gc_step {
    bool full(std::size_t n) const noexcept { return n > 0; }
    template <class Table>
    util::result<std::size_t> run(Table& t) const
    {
        return t.gc_step();
    }
    template <class Table>
    util::result<std::size_t> pending(Table& t) const
    {
        return t.gc_todo_len();
    }
};

} // namespace detail

/** Starts a table's background workers on `runner`: "<table> Merkle" (applies the Merkle
    todo), "<table> queue" (flushes the insert queue) and "<table> GC" (collects tombstones
    after the GC delay; Garage waits 60 s between idle passes).

    The Merkle and queue workers are woken by the table's writes (they then let updates
    accumulate for `table_options::merkle_settle` and `queue_settle`); the GC worker looks again
    after `gc_idle_wait` (the runner caps every idle wait at 10 s).

    @param t      The table; it must outlive the runner's workers.
    @param runner Where the workers run.
    @param ex     The executor for the workers' timers (usually the runner's).
    @param gc_idle_wait How long the GC worker waits between passes that found nothing to do.
    @tparam Table A @ref garage::table::table.
    @par Thread Safety
    Call once per table, before concurrent writes start.
*/
template <class Table>
void spawn_workers(Table& t, util::background_runner& runner, util::net::any_io_executor ex,
                   std::chrono::milliseconds gc_idle_wait = std::chrono::seconds(60))
{
    using namespace std::chrono_literals;
    auto merkle = std::make_unique<detail::table_worker<Table, detail::merkle_step>>(
        t, "Merkle", ex, 10s, detail::merkle_step{t.options().merkle_batch}, t.options().merkle_settle);
    auto queue = std::make_unique<detail::table_worker<Table, detail::queue_step>>(
        t, "queue", ex, 10s, detail::queue_step{t.options().queue_batch}, t.options().queue_settle);
    auto gc = std::make_unique<detail::table_worker<Table, detail::gc_step>>(t, "GC", ex, gc_idle_wait,
                                                                             detail::gc_step{});
    t.on_merkle_todo([n = merkle->notifier()] { n->notify(); });
    t.on_queue_insert([n = queue->notifier()] { n->notify(); });
    runner.spawn(std::move(merkle));
    runner.spawn(std::move(queue));
    runner.spawn(std::move(gc));
}

} // namespace garage::table
