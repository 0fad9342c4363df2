#pragma once
// Template bodies of garage/model/lifecycle_worker.hpp.

#include <garage/model/helper.hpp>
#include <garage/util/persister.hpp>
#include <garage/util/time.hpp>

#include <cereal/types/string.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace garage::model {

template <class Model>
lifecycle_worker<Model>::lifecycle_worker(Model& model, boost::asio::any_io_executor ex,
                                          lifecycle_worker_options options)
    : model_(model), options_(std::move(options)), wake_(std::move(ex))
{
    if (options_.batch == 0) {
        options_.batch = 1;
    }
}

template <class Model>
std::uint64_t lifecycle_worker<Model>::now() const
{
    return options_.clock ? options_.clock() : util::now_msec();
}

template <class Model>
util::worker_status lifecycle_worker<Model>::status() const
{
    util::worker_status s;
    if (running_) {
        s.progress = std::to_string(bucket_index_) + "/" + std::to_string(buckets_.size()) + " buckets";
        s.freeform.push_back("started " + format_day(pass_day_));
    }
    s.freeform.push_back("last completed: " + last_completed_.value_or("never"));
    s.freeform.push_back("objects " + std::to_string(stats_.objects) + ", expired " +
                         std::to_string(stats_.expired) + ", aborted uploads " +
                         std::to_string(stats_.aborted));
    return s;
}

template <class Model>
boost::asio::awaitable<util::result<util::worker_step>> lifecycle_worker<Model>::work()
{
    co_return step();
}

template <class Model>
boost::asio::awaitable<void> lifecycle_worker<Model>::wait_for_work()
{
    // Nothing notifies: the wait simply ends at the next UTC midnight (the runner cuts it
    // short every few seconds anyway, and step() then finds nothing to do until the day changes).
    constexpr std::uint64_t day_ms = 86'400'000;
    auto const t = now();
    auto const until_midnight = day_ms - t % day_ms;
    co_await wake_.wait_for(std::chrono::milliseconds(until_midnight));
}

template <class Model>
util::result<void> lifecycle_worker<Model>::load_state()
{
    loaded_ = true;
    if (options_.state_file.empty()) {
        return {};
    }
    auto r = util::persister<std::string>(options_.state_file).load();
    if (!r) {
        // A corrupt state file only means one more pass today.
        spdlog::warn("lifecycle worker: {}", r.error().message);
        return {};
    }
    last_completed_ = std::move(*r);
    return {};
}

template <class Model>
util::result<void> lifecycle_worker<Model>::start_pass(std::int64_t today)
{
    auto bs = list_buckets(model_);
    if (!bs) {
        return bs.error();
    }
    buckets_.clear();
    for (auto const& b : *bs) {
        auto const* p = b.params();
        if (p != nullptr && p->lifecycle_config.get() && !p->lifecycle_config.get()->empty()) {
            buckets_.push_back(b.id);
        }
    }
    running_ = true;
    pass_day_ = today;
    bucket_index_ = 0;
    next_key_.reset();
    stats_ = {};
    stats_.buckets = buckets_.size();
    spdlog::info("lifecycle worker: starting the pass of {} over {} bucket(s)", format_day(today),
                 buckets_.size());
    return {};
}

template <class Model>
util::result<util::worker_step> lifecycle_worker<Model>::finish_pass()
{
    running_ = false;
    last_completed_ = format_day(pass_day_);
    if (!options_.state_file.empty()) {
        if (auto r = util::persister<std::string>(options_.state_file).save(*last_completed_); !r) {
            return r.error();
        }
    }
    spdlog::info("lifecycle worker: pass of {} done: {} object(s) examined, {} expired, {} upload(s) aborted",
                 *last_completed_, stats_.objects, stats_.expired, stats_.aborted);
    return util::worker_step::idle();
}

template <class Model>
util::result<util::worker_step> lifecycle_worker<Model>::step()
{
    if (!loaded_) {
        if (auto r = load_state(); !r) {
            return r.error();
        }
    }
    auto const t = now();
    auto const today = utc_day(t);
    if (!running_) {
        if (last_completed_ == format_day(today)) {
            return util::worker_step::idle();
        }
        if (auto r = start_pass(today); !r) {
            return r.error();
        }
        return util::worker_step::busy();
    }
    if (bucket_index_ >= buckets_.size()) {
        return finish_pass();
    }

    auto const& bucket_id = buckets_[bucket_index_];
    auto b = get_bucket(model_, bucket_id);
    if (!b) {
        return b.error();
    }
    std::vector<lifecycle_rule> rules;
    if (*b && (*b)->params()->lifecycle_config.get()) {
        rules = *(*b)->params()->lifecycle_config.get();
    }
    if (rules.empty()) { // deleted, or its configuration removed since the pass started
        ++bucket_index_;
        next_key_.reset();
        return util::worker_step::busy();
    }
    auto batch = model_.object_table().get_range(bucket_id, next_key_, std::nullopt, options_.batch);
    if (!batch) {
        return batch.error();
    }
    for (auto const& o : *batch) {
        ++stats_.objects;
        if (auto ch = lifecycle_update(o, rules, pass_day_, t)) {
            if (auto r = model_.object_table().insert(ch->update); !r) {
                return r.error();
            }
            stats_.expired += ch->expired;
            stats_.aborted += ch->aborted;
        }
    }
    if (batch->size() < options_.batch) {
        ++bucket_index_;
        next_key_.reset();
    } else {
        next_key_ = batch->back().key() + std::string(1, '\0'); // the least key after the last one
    }
    return util::worker_step::busy();
}

} // namespace garage::model
