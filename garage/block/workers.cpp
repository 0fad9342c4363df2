#include <garage/block/workers.hpp>

#include <garage/block/detail/file_io.hpp>
#include <garage/block/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/persister.hpp>

namespace garage::block {

std::uint64_t next_scrub_time(std::uint64_t from_msec)
{
    std::uint64_t r = 0;
    util::random_bytes(&r, sizeof r);
    auto const extra = static_cast<std::uint64_t>(scrub_interval_random.count());
    return from_msec + static_cast<std::uint64_t>(scrub_interval.count()) + (extra == 0 ? 0 : r % extra);
}

block_worker_control::block_worker_control(std::filesystem::path const& metadata_dir,
                                           util::net::any_io_executor ex)
    : resync_cfg_path_(metadata_dir / "resync_cfg"), resync_notify_(std::make_shared<util::async_notify>(ex)),
      scrub_notify_(std::make_shared<util::async_notify>(ex))
{
    auto loaded = util::persister<resync_config>(resync_cfg_path_).load();
    if (!loaded) {
        detail::log_warn("resync settings unreadable, using defaults: " + loaded.error().message);
    } else if (*loaded) {
        resync_ = **loaded;
        resync_.worker_count = std::clamp<std::uint32_t>(resync_.worker_count, 1,
                                                         static_cast<std::uint32_t>(max_resync_workers));
    }
}

std::size_t block_worker_control::resync_worker_count() const
{
    std::lock_guard lock(mutex_);
    return resync_.worker_count;
}

util::result<void> block_worker_control::set_resync_worker_count(std::size_t n)
{
    if (n < 1 || n > max_resync_workers) {
        return util::failure(error::invalid_options, "the number of resync workers must be between 1 and " +
                                                         std::to_string(max_resync_workers));
    }
    resync_config copy;
    {
        std::lock_guard lock(mutex_);
        resync_.worker_count = static_cast<std::uint32_t>(n);
        copy = resync_;
    }
    resync_notify_->notify();
    return util::persister<resync_config>(resync_cfg_path_).save(copy);
}

std::uint32_t block_worker_control::resync_tranquility() const
{
    std::lock_guard lock(mutex_);
    return resync_.tranquility;
}

util::result<void> block_worker_control::set_resync_tranquility(std::uint32_t t)
{
    resync_config copy;
    {
        std::lock_guard lock(mutex_);
        resync_.tranquility = t;
        copy = resync_;
    }
    resync_notify_->notify();
    return util::persister<resync_config>(resync_cfg_path_).save(copy);
}

scrub_info block_worker_control::scrub_snapshot() const
{
    std::lock_guard lock(mutex_);
    return scrub_;
}

scrub_state block_worker_control::scrub_current_state() const
{
    std::lock_guard lock(mutex_);
    return scrub_state_;
}

std::deque<block_worker_control::scrub_command> block_worker_control::take_scrub_commands()
{
    std::lock_guard lock(mutex_);
    return std::exchange(scrub_commands_, {});
}

void block_worker_control::publish_scrub(scrub_info const& info, scrub_state s)
{
    std::lock_guard lock(mutex_);
    scrub_ = info;
    scrub_state_ = s;
}

void block_worker_control::send(scrub_command c)
{
    {
        std::lock_guard lock(mutex_);
        scrub_commands_.push_back(c);
    }
    scrub_notify_->notify();
}

} // namespace garage::block
