#pragma once

#include <garage/block/detail/file_io.hpp>

#include <garage/util/time.hpp>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace garage::block {

namespace detail {

/// "Block repair worker": walks the rc tree, the small-block tree and the block files,
/// queueing a resync of each block met.
template <class Storage>
class repair_worker final : public util::worker {
public:
    repair_worker(block_manager<Storage>& m, block_repair_options o)
        : manager_(m), options_(o), phase_(o.referenced ? phase::referenced
                                           : o.stored   ? phase::small
                                                        : phase::done)
    {
        if (options_.batch == 0) {
            options_.batch = 1;
        }
    }

    std::string name() const override { return "Block repair worker"; }

    util::worker_status status() const override
    {
        util::worker_status s;
        char const* what = phase_ == phase::referenced ? "referenced blocks"
                           : phase_ == phase::small    ? "small blocks"
                           : phase_ == phase::files    ? "block files"
                                                       : "done";
        s.freeform.push_back(std::string("Phase: ") + what);
        s.freeform.push_back("Blocks queued for a resync check: " + std::to_string(queued_));
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override
    {
        std::vector<util::hash32> batch;
        switch (phase_) {
        case phase::referenced: {
            auto r = manager_.list_referenced(after_, options_.batch);
            if (!r) {
                co_return r.error();
            }
            batch = std::move(*r);
            if (batch.size() < options_.batch) {
                phase_ = options_.stored ? phase::small : phase::done;
                after_.reset();
            } else {
                after_ = batch.back();
            }
            break;
        }
        case phase::small: {
            auto r = manager_.list_small(after_, options_.batch);
            if (!r) {
                co_return r.error();
            }
            batch = std::move(*r);
            if (batch.size() < options_.batch) {
                phase_ = phase::files;
                after_.reset();
            } else {
                after_ = batch.back();
            }
            break;
        }
        case phase::files:
            batch = manager_.store().list_step(cursor_, options_.batch);
            if (cursor_.finished()) {
                phase_ = phase::done;
            }
            break;
        case phase::done:
            co_return util::worker_step::done();
        }
        if (auto q = manager_.put_to_resync_many(batch, std::chrono::milliseconds(0)); !q) {
            co_return q.error();
        }
        queued_ += batch.size();
        if (phase_ == phase::done) {
            log_info("block repair: " + std::to_string(queued_) + " blocks queued for a resync check");
            co_return util::worker_step::done();
        }
        co_return util::worker_step::busy();
    }

    util::net::awaitable<void> wait_for_work() override { co_return; }

private:
    enum class phase { referenced, small, files, done };

    block_manager<Storage>& manager_;
    block_repair_options options_;
    phase phase_;
    std::optional<util::hash32> after_;
    scrub_cursor cursor_;
    std::uint64_t queued_ = 0;
};

/// "Block refcount repair worker": the union, in hash order, of the rc tree and the blocks
/// the `block_ref` table references, each recounted.
template <class Storage>
class rc_repair_worker final : public util::worker {
public:
    rc_repair_worker(block_manager<Storage>& m, block_rc_repair_options o)
        : manager_(m), options_(std::move(o))
    {
        if (options_.batch == 0) {
            options_.batch = 1;
        }
    }

    std::string name() const override { return "Block refcount repair worker"; }

    util::worker_status status() const override
    {
        util::worker_status s;
        s.progress = std::to_string(checked_) + " (" + std::to_string(fixed_) + ")";
        s.freeform.push_back("Blocks checked: " + std::to_string(checked_));
        s.freeform.push_back("Reference counts fixed: " + std::to_string(fixed_));
        if (done_) {
            s.freeform.push_back("Finished");
        }
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override { co_return step(); }

    util::net::awaitable<void> wait_for_work() override { co_return; }

private:
    util::result<util::worker_step> step()
    {
        if (done_) {
            return util::worker_step::done();
        }
        auto const n = options_.batch;
        auto counted = manager_.list_referenced(after_, n);
        if (!counted) {
            return counted.error();
        }
        std::vector<util::hash32> referenced;
        if (options_.referenced) {
            auto r = options_.referenced(after_, n);
            if (!r) {
                return r.error();
            }
            referenced = std::move(*r);
        }
        // A list cut at `n` says nothing past its last hash: stop the union there.
        std::optional<util::hash32> bound;
        if (counted->size() >= n) {
            bound = counted->back();
        }
        if (referenced.size() >= n && (!bound || referenced.back() < *bound)) {
            bound = referenced.back();
        }
        std::vector<util::hash32> todo;
        todo.reserve(counted->size() + referenced.size());
        std::merge(counted->begin(), counted->end(), referenced.begin(), referenced.end(),
                   std::back_inserter(todo));
        todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
        for (auto const& h : todo) {
            if (bound && *bound < h) {
                break;
            }
            auto f = manager_.recalculate_rc(h);
            if (!f) {
                return f.error();
            }
            ++checked_;
            if (*f) {
                ++fixed_;
            }
            after_ = h;
        }
        if (!bound) {
            done_ = true;
            log_info("Block refcount repair worker: finished, " + std::to_string(checked_) +
                     " blocks checked, " + std::to_string(fixed_) + " reference counts fixed");
            return util::worker_step::done();
        }
        return util::worker_step::busy();
    }

    block_manager<Storage>& manager_;
    block_rc_repair_options options_;
    std::optional<util::hash32> after_;
    std::uint64_t checked_ = 0;
    std::uint64_t fixed_ = 0;
    bool done_ = false;
};

/// "Block rebalance worker": block files moved to their primary directory, then the
/// secondary locations dropped.
template <class Storage>
class rebalance_worker final : public util::worker {
public:
    rebalance_worker(block_manager<Storage>& m, block_rebalance_options o)
        : manager_(m), options_(o), started_(util::now_msec())
    {
        if (options_.batch == 0) {
            options_.batch = 1;
        }
    }

    std::string name() const override { return "Block rebalance worker"; }

    util::worker_status status() const override
    {
        util::worker_status s;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f%%",
                      cursor_.progress(manager_.layout()->data_dirs().size()) * 100.0);
        s.progress = buf;
        s.freeform.push_back("Blocks moved: " + std::to_string(moved_));
        s.freeform.push_back("Bytes moved: " + std::to_string(moved_bytes_));
        s.freeform.push_back("Redundant secondary copies removed: " + std::to_string(dropped_));
        s.freeform.push_back("Started: " + std::to_string(started_) + " (Unix ms)");
        if (finished_) {
            s.freeform.push_back("Finished: " + std::to_string(*finished_) + " (Unix ms)");
        }
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override { co_return step(); }

    util::net::awaitable<void> wait_for_work() override { co_return; }

private:
    util::result<util::worker_step> step()
    {
        if (finished_) {
            return util::worker_step::done();
        }
        auto r = manager_.rebalance_step(cursor_, options_.batch);
        if (!r) {
            return r.error();
        }
        moved_ += r->moved;
        moved_bytes_ += r->moved_bytes;
        dropped_ += r->dropped;
        corrupt_ += r->corrupt.size();
        if (r->finished) {
            finished_ = util::now_msec();
            log_info("Block rebalance worker: finished, " + std::to_string(moved_) + " blocks (" +
                     std::to_string(moved_bytes_) + " bytes) moved to their primary data directory, " +
                     std::to_string(dropped_) + " redundant copies removed, " + std::to_string(corrupt_) +
                     " corrupt copies set aside; secondary locations dropped from the data layout");
            return util::worker_step::done();
        }
        return util::worker_step::busy();
    }

    block_manager<Storage>& manager_;
    block_rebalance_options options_;
    scrub_cursor cursor_;
    std::uint64_t started_;
    std::optional<std::uint64_t> finished_;
    std::uint64_t moved_ = 0;
    std::uint64_t moved_bytes_ = 0;
    std::uint64_t dropped_ = 0;
    std::uint64_t corrupt_ = 0;
};

} // namespace detail

template <storage::storage_backend Storage>
std::size_t spawn_block_rc_repair(block_manager<Storage>& m, util::background_runner& runner,
                                  block_rc_repair_options options)
{
    return runner.spawn(std::make_unique<detail::rc_repair_worker<Storage>>(m, std::move(options)));
}

template <storage::storage_backend Storage>
std::size_t spawn_block_rebalance(block_manager<Storage>& m, util::background_runner& runner,
                                  block_rebalance_options options)
{
    return runner.spawn(std::make_unique<detail::rebalance_worker<Storage>>(m, options));
}

template <storage::storage_backend Storage>
std::size_t spawn_block_repair(block_manager<Storage>& m, util::background_runner& runner,
                               block_repair_options options)
{
    return runner.spawn(std::make_unique<detail::repair_worker<Storage>>(m, options));
}

} // namespace garage::block
