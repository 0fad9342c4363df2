#pragma once

#include <garage/block/detail/file_io.hpp>
#include <garage/util/persister.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

namespace garage::block {

namespace detail {

inline std::chrono::milliseconds clamp_wait(std::uint64_t msec, std::chrono::milliseconds cap) noexcept
{
    auto const capped =
        std::min<std::uint64_t>(msec, static_cast<std::uint64_t>(std::max<std::int64_t>(cap.count(), 1)));
    return std::chrono::milliseconds(static_cast<std::int64_t>(capped));
}

/// "Block resync worker #i": takes due blocks from the resync queue, paced by tranquility.
template <class Storage>
class resync_worker final : public util::worker {
public:
    resync_worker(std::size_t index, block_manager<Storage>& m, std::shared_ptr<block_worker_control> control,
                  std::chrono::milliseconds idle_wait)
        : index_(index), manager_(m), control_(std::move(control)), idle_wait_(idle_wait),
          next_wait_(idle_wait)
    {
    }

    std::string name() const override { return "Block resync worker #" + std::to_string(index_ + 1); }

    util::worker_status status() const override
    {
        util::worker_status s;
        if (auto n = manager_.resync_queue_len()) {
            s.queue_length = *n;
        }
        if (auto n = manager_.resync_errors_len()) {
            s.persistent_errors = *n;
        }
        s.tranquility = control_->resync_tranquility();
        if (index_ >= control_->resync_worker_count()) {
            s.freeform.push_back("This worker is currently disabled");
        }
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override
    {
        if (index_ >= control_->resync_worker_count()) {
            next_wait_ = idle_wait_;
            co_return util::worker_step::idle();
        }
        if (index_ == 0) {
            manager_.set_resync_horizon(std::numeric_limits<std::uint64_t>::max()); // awake: any entry wakes
        }
        tranquilizer_.reset();
        auto r = manager_.resync_step();
        if (!r) {
            co_return r.error();
        }
        switch (r->outcome) {
        case resync_outcome::processed:
            co_return tranquilizer_.tranquilize(control_->resync_tranquility());
        case resync_outcome::postponed:
            co_return util::worker_step::busy();
        case resync_outcome::waiting:
            next_wait_ = clamp_wait(static_cast<std::uint64_t>(r->wait.count()), idle_wait_);
            co_return util::worker_step::idle();
        case resync_outcome::empty:
            break;
        }
        next_wait_ = idle_wait_;
        co_return util::worker_step::idle();
    }

    util::net::awaitable<void> wait_for_work() override
    {
        if (index_ == 0) {
            // Entries due before this wake it; later ones wait for it (a queued entry's notify
            // before the wait leaves a permit, so an entry queued meanwhile is not missed).
            manager_.set_resync_horizon(util::now_msec() + static_cast<std::uint64_t>(next_wait_.count()));
        }
        co_await control_->resync_notify()->wait_for(next_wait_);
    }

private:
    std::size_t index_;
    block_manager<Storage>& manager_;
    std::shared_ptr<block_worker_control> control_;
    std::chrono::milliseconds idle_wait_;
    std::chrono::milliseconds next_wait_;
    util::tranquilizer tranquilizer_;
};

/// "Block scrub worker": a verification pass over every block file every 25–35 days.
template <class Storage>
class scrub_worker final : public util::worker {
public:
    scrub_worker(block_manager<Storage>& m, std::shared_ptr<block_worker_control> control,
                 std::chrono::milliseconds idle_wait)
        : manager_(m), control_(std::move(control)), persister_(m.options().metadata_dir / "scrub_info"),
          idle_wait_(idle_wait), next_wait_(idle_wait)
    {
        auto loaded = persister_.load();
        if (!loaded) {
            log_warn("scrub state unreadable, starting afresh: " + loaded.error().message);
        }
        if (loaded && *loaded) {
            info_ = std::move(**loaded);
        } else {
            info_.time_next_run_scrub = next_scrub_time(util::now_msec());
            save();
        }
        if (info_.checkpoint) {
            cursor_ = *info_.checkpoint;
            state_ = scrub_state::running;
            last_checkpoint_ = util::now_msec();
        }
        control_->publish_scrub(info_, state_);
    }

    std::string name() const override { return "Block scrub worker"; }

    util::worker_status status() const override
    {
        util::worker_status s;
        s.tranquility = info_.tranquility;
        auto const dirs = manager_.layout()->data_dirs().size();
        char buf[32];
        switch (state_) {
        case scrub_state::running:
            std::snprintf(buf, sizeof buf, "%.2f%%", cursor_.progress(dirs) * 100.0);
            s.progress = buf;
            break;
        case scrub_state::paused:
            std::snprintf(buf, sizeof buf, "%.2f%%", cursor_.progress(dirs) * 100.0);
            s.progress = buf;
            s.freeform.push_back("Scrub paused, resumes at " + std::to_string(resume_at_) + " (Unix ms)");
            break;
        case scrub_state::finished:
            s.freeform.push_back("Last scrub completed at " + std::to_string(info_.time_last_complete_scrub) +
                                 " (Unix ms)");
            s.freeform.push_back("Next scrub scheduled for " + std::to_string(info_.time_next_run_scrub) +
                                 " (Unix ms)");
            break;
        }
        s.freeform.push_back("Corruptions detected on last scrub: " +
                             std::to_string(info_.corruptions_detected));
        return s;
    }

    util::net::awaitable<util::result<util::worker_step>> work() override
    {
        handle_commands();
        auto const now = util::now_msec();
        switch (state_) {
        case scrub_state::running: {
            tranquilizer_.reset();
            auto r = manager_.scrub_step(cursor_);
            if (!r) {
                co_return r.error();
            }
            if (r->finished) {
                state_ = scrub_state::finished;
                info_.time_last_complete_scrub = now;
                info_.time_next_run_scrub = next_scrub_time(now);
                info_.checkpoint.reset();
                save();
                log_info("datastore scrub completed");
                co_return util::worker_step::busy();
            }
            if (r->corrupt) {
                ++info_.corruptions_detected;
            }
            if (r->corrupt ||
                now >= last_checkpoint_ + static_cast<std::uint64_t>(scrub_checkpoint_interval.count())) {
                info_.checkpoint = cursor_;
                last_checkpoint_ = now;
                save();
            } else {
                control_->publish_scrub(info_, state_);
            }
            co_return tranquilizer_.tranquilize(info_.tranquility);
        }
        case scrub_state::paused:
            if (now >= resume_at_) {
                state_ = scrub_state::running;
                control_->publish_scrub(info_, state_);
                co_return util::worker_step::busy();
            }
            next_wait_ = clamp_wait(resume_at_ - now, idle_wait_);
            co_return util::worker_step::idle();
        case scrub_state::finished:
            if (now >= info_.time_next_run_scrub) {
                start(now);
                co_return util::worker_step::busy();
            }
            next_wait_ = clamp_wait(info_.time_next_run_scrub - now, idle_wait_);
            co_return util::worker_step::idle();
        }
        co_return util::worker_step::idle();
    }

    util::net::awaitable<void> wait_for_work() override
    {
        co_await control_->scrub_notify()->wait_for(next_wait_);
    }

private:
    void start(std::uint64_t now)
    {
        log_info("starting a datastore scrub");
        cursor_ = scrub_cursor{};
        state_ = scrub_state::running;
        info_.checkpoint = cursor_;
        last_checkpoint_ = now;
        save();
    }

    void handle_commands()
    {
        for (auto const& c : control_->take_scrub_commands()) {
            auto const now = util::now_msec();
            switch (c.kind) {
            case block_worker_control::command::start:
                if (state_ == scrub_state::finished) {
                    start(now);
                } else {
                    log_warn("cannot start a scrub: one is already running or paused");
                }
                break;
            case block_worker_control::command::pause:
                if (state_ != scrub_state::finished) {
                    state_ = scrub_state::paused;
                    resume_at_ =
                        now + static_cast<std::uint64_t>(std::max<std::int64_t>(c.pause_for.count(), 0));
                    info_.checkpoint = cursor_;
                    save();
                } else {
                    log_warn("cannot pause the scrub: it is not running");
                }
                break;
            case block_worker_control::command::resume:
                if (state_ == scrub_state::paused) {
                    state_ = scrub_state::running;
                    control_->publish_scrub(info_, state_);
                } else {
                    log_warn("cannot resume the scrub: it is not paused");
                }
                break;
            case block_worker_control::command::cancel:
                if (state_ != scrub_state::finished) {
                    state_ = scrub_state::finished;
                    info_.checkpoint.reset();
                    save();
                } else {
                    log_warn("cannot cancel the scrub: it is not running");
                }
                break;
            case block_worker_control::command::set_tranquility:
                info_.tranquility = c.tranquility;
                save();
                break;
            }
        }
    }

    void save()
    {
        if (auto r = persister_.save(info_); !r) {
            log_error("cannot save the scrub state: " + r.error().message);
        }
        control_->publish_scrub(info_, state_);
    }

    block_manager<Storage>& manager_;
    std::shared_ptr<block_worker_control> control_;
    util::persister<scrub_info> persister_;
    std::chrono::milliseconds idle_wait_;
    std::chrono::milliseconds next_wait_;
    scrub_info info_;
    scrub_state state_ = scrub_state::finished;
    scrub_cursor cursor_;
    std::uint64_t resume_at_ = 0;
    std::uint64_t last_checkpoint_ = 0;
    util::tranquilizer tranquilizer_;
};

} // namespace detail

template <storage::storage_backend Storage>
std::shared_ptr<block_worker_control>
spawn_workers(block_manager<Storage>& m, util::background_runner& runner, util::net::any_io_executor ex,
              block_worker_options options)
{
    auto control = std::make_shared<block_worker_control>(m.options().metadata_dir, ex);
    m.on_resync_queued([n = control->resync_notify()] { n->notify(); });
    for (std::size_t i = 0; i < max_resync_workers; ++i) {
        runner.spawn(std::make_unique<detail::resync_worker<Storage>>(i, m, control, options.idle_wait));
    }
    if (!options.disable_scrub) {
        runner.spawn(std::make_unique<detail::scrub_worker<Storage>>(m, control, options.idle_wait));
    }
    return control;
}

} // namespace garage::block
