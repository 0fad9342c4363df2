#pragma once

#include <garage/block/detail/file_io.hpp>

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

} // namespace detail

template <storage::storage_backend Storage>
std::size_t spawn_block_repair(block_manager<Storage>& m, util::background_runner& runner,
                               block_repair_options options)
{
    return runner.spawn(std::make_unique<detail::repair_worker<Storage>>(m, options));
}

} // namespace garage::block
