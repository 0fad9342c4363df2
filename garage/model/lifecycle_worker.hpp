#pragma once
/** @file
    The bucket lifecycle: which objects a bucket's lifecycle rules expire and which multipart
    uploads they abort on a given day (pure functions), and Garage's daily "object lifecycle
    worker" that applies them to every bucket (GARAGE-REFERENCE §1.17). */

#include <garage/model/bucket.hpp>
#include <garage/model/object.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::model {

/** The UTC day of a time.
    @param msec Milliseconds since the Unix epoch.
    @return Days since 1970-01-01 (UTC). */
std::int64_t utc_day(std::uint64_t msec) noexcept;

/** Formats a day as `yyyy-mm-dd`.
    @param day Days since 1970-01-01.
    @return The date. */
std::string format_day(std::int64_t day);

/** Parses `yyyy-mm-dd`.
    @param date The date.
    @return Days since 1970-01-01, or nullopt if it is not a valid date. */
std::optional<std::int64_t> parse_day(std::string_view date);

/** Whether a lifecycle filter selects an object.
    @param f    The filter.
    @param key  The object key.
    @param size The object's size; when absent (an upload in progress), the size conditions
                are not checked.
    @return Whether every condition of `f` holds. */
bool lifecycle_filter_matches(lifecycle_filter const& f, std::string_view key,
                              std::optional<std::uint64_t> size);

/** What the lifecycle changes in one object. */
struct lifecycle_changes {
    object update;           ///< the entry to merge into the object table
    std::size_t expired = 0; ///< 1 if the current version is expired (a delete marker is added)
    std::size_t aborted = 0; ///< the multipart uploads aborted
};

/** The changes the lifecycle makes to one object on one day.

    The current version (the last complete one) is expired, by a new delete marker, when it
    holds data and an enabled rule with an `Expiration` selects it: `Days` days or more have
    passed since the day of its creation, or the `Date` has been reached. Each multipart
    upload in progress is aborted when an enabled rule with `AbortIncompleteMultipartUpload`
    selects its key (by prefix) and `DaysAfterInitiation` days or more have passed since the
    day it started.

    @param o      The object.
    @param rules  The bucket's lifecycle rules.
    @param today  The current UTC day (@ref utc_day).
    @param now    The current time in ms, the least timestamp of a new delete marker.
    @return The entry to merge into the object table (the delete marker and the aborted
            versions) with counts, or nullopt if nothing changes. */
std::optional<lifecycle_changes> lifecycle_update(object const& o, std::span<lifecycle_rule const> rules,
                                                  std::int64_t today, std::uint64_t now);

/** The options of a @ref lifecycle_worker. */
struct lifecycle_worker_options {
    /// Where the day of the last completed pass is kept (Garage's `lifecycle_worker_state`
    /// under `metadata_dir`); empty: kept in memory only.
    std::filesystem::path state_file{};
    /// The clock, in ms since the epoch (tests pass a fake one).
    std::function<std::uint64_t()> clock{};
    /// How many objects one step examines.
    std::size_t batch = 100;
};

/** Counts of one lifecycle pass. */
struct lifecycle_pass_stats {
    std::uint64_t buckets = 0; ///< buckets with a lifecycle configuration walked
    std::uint64_t objects = 0; ///< objects examined
    std::uint64_t expired = 0; ///< current versions expired (delete markers inserted)
    std::uint64_t aborted = 0; ///< multipart uploads aborted

    /// Equal when every count is equal.
    friend bool operator==(lifecycle_pass_stats const&, lifecycle_pass_stats const&) = default;
};

/** Garage's "object lifecycle worker": once a day, a pass over every bucket that has a
    lifecycle configuration and every object in it, applying @ref lifecycle_update.

    A pass starts when the current UTC day differs from the day of the last completed pass
    (kept in `state_file`, so a restart the same day does not run it again, and the first
    start on a new day does); so it runs at midnight UTC and on a first start. Each step
    examines `batch` objects and reports `busy`; between passes the worker is `idle` and its
    wait ends at the next midnight. Expiring inserts a delete marker, as DeleteObject does;
    aborting marks the upload's version aborted, as AbortMultipartUpload does; the object
    table's hooks then delete the versions, uploads and block references.

    @tparam Model A @ref garage::model::basic_model.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe (the runner calls it from one loop).

    @par Example
    @code
    runner.spawn(std::make_unique<model::lifecycle_worker<model_type>>(
        *model, pool.get_executor(), model::lifecycle_worker_options{metadata_dir /
   "lifecycle_worker_state"}));
    @endcode */
template <class Model>
class lifecycle_worker final : public util::worker {
public:
    /** A worker over `model`.
        @param model   The tables; must outlive the worker.
        @param ex      The executor of its idle waits.
        @param options State file, clock, batch size. */
    lifecycle_worker(Model& model, boost::asio::any_io_executor ex, lifecycle_worker_options options = {});

    /// @return `"object lifecycle worker"`.
    std::string name() const override { return "object lifecycle worker"; }

    /// @return The last completed day and the progress of the current pass.
    util::worker_status status() const override;

    /// @return One @ref step.
    boost::asio::awaitable<util::result<util::worker_step>> work() override;

    /// @return An awaitable that resolves at the next UTC midnight (the runner rechecks sooner).
    boost::asio::awaitable<void> wait_for_work() override;

    /** One bounded step: starts a pass if the day changed, else examines the next batch of
        objects, else finishes the pass (saving the day).
        @return `busy` during a pass, `idle` otherwise; a storage error. */
    util::result<util::worker_step> step();

    /// @return The day (`yyyy-mm-dd`) of the last completed pass, if any.
    std::optional<std::string> const& last_completed() const noexcept { return last_completed_; }
    /// @return The counts of the current pass, or of the last one once it has completed.
    lifecycle_pass_stats const& stats() const noexcept { return stats_; }

private:
    std::uint64_t now() const;
    util::result<void> load_state();
    util::result<void> start_pass(std::int64_t today);
    util::result<util::worker_step> finish_pass();

    Model& model_;
    lifecycle_worker_options options_;
    util::async_notify wake_;
    bool loaded_ = false;
    std::optional<std::string> last_completed_;
    // the current pass
    bool running_ = false;
    std::int64_t pass_day_ = 0;
    std::vector<util::uuid> buckets_;
    std::size_t bucket_index_ = 0;
    std::optional<std::string> next_key_;
    lifecycle_pass_stats stats_;
};

} // namespace garage::model

#include <garage/model/impl/lifecycle_worker.hpp>
