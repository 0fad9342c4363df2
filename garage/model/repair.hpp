#pragma once
/** @file
    The online repairs of the data model (Garage's `src/garage/repair/online.rs` and
    `repair_aliases`): `garage repair versions`, `mpu`, `block-refs` and `aliases` as
    background workers, and what `garage repair block-rc` needs of the model (the blocks the
    `block_ref` table references, and the recount of one block's references).
*/

#include <garage/model/bucket.hpp>
#include <garage/model/bucket_alias.hpp>
#include <garage/model/cluster.hpp>
#include <garage/model/key.hpp>
#include <garage/model/types.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::model {

/** The table repairs of `garage repair` that the model runs (Garage's `RepairWhat`; `tables`,
    `blocks`, `block-rc`, `rebalance` and `scrub` belong to the table syncers and the block
    layer). */
enum class model_repair {
    /// `versions`: a version whose object (or upload) no longer has it is deleted.
    versions,
    /// `mpu`: an upload whose object no longer has it in progress is deleted.
    mpu,
    /// `block-refs`: a block reference whose version is missing or deleted is deleted.
    block_refs,
    /// `aliases`: the buckets' alias maps are made to agree with the alias table and the keys.
    aliases,
};

/** Parses a repair name.
    @param name Garage's CLI name (`versions`, `mpu`, `block-refs`, `aliases`) or its v2 admin
                API name (`multipartUploads`, `blockRefs`).
    @return The repair, or `nullopt` when `name` is not a model repair. */
std::optional<model_repair> parse_model_repair(std::string_view name) noexcept;

/** @param r A repair. @return Its CLI name (`versions`, `mpu`, `block-refs`, `aliases`). */
std::string_view to_string(model_repair r) noexcept;

/** The tunables of the model repair workers. */
struct model_repair_options {
    /// How many entries one step examines (the fixes of a step are written in one transaction).
    std::size_t batch = 64;
};

/** What a model repair has done so far. */
struct model_repair_stats {
    std::uint64_t checked = 0; ///< entries examined
    std::uint64_t fixed = 0;   ///< entries written to fix them

    /// Equal when both counts are.
    friend bool operator==(model_repair_stats const&, model_repair_stats const&) = default;
};

/** The entries `garage repair aliases` writes (Garage's `repair_aliases`).

    The `bucket_alias` table and the keys' `local_aliases` are authoritative; the alias maps of
    the buckets follow them:
    1. a global alias (`bucket_alias`) or a local alias (a key's `local_aliases`) that points
       to a bucket that is missing or deleted is removed;
    2. each bucket that is not deleted gets, in `aliases`, exactly the global aliases that
       point to it set to `true` (others it marks `true` become `false`), and in
       `local_aliases` exactly the `(key id, name)` pairs of the keys' local aliases that
       point to it.
*/
struct alias_repair_plan {
    std::vector<bucket_alias> aliases; ///< global aliases removed (their bucket is gone)
    std::vector<access_key> keys;      ///< keys whose dangling local aliases are removed
    std::vector<bucket> buckets;       ///< buckets whose alias maps are fixed

    /// @return Whether nothing needs fixing.
    bool empty() const noexcept { return aliases.empty() && keys.empty() && buckets.empty(); }
    /// @return The number of entries to write.
    std::size_t size() const noexcept { return aliases.size() + keys.size() + buckets.size(); }
};

/** Computes what `garage repair aliases` fixes, from this node's copies of the bucket,
    `bucket_alias` and key tables (full copies on every node).
    @tparam Model A @ref garage::model::basic_model.
    @param m The model.
    @return The entries to write (empty when the aliases are consistent); a storage error. */
template <class Model>
util::result<alias_repair_plan> plan_alias_repair(Model& m);

/** Lists the blocks that the `block_ref` table of this node references (deleted references
    included), in hash order: what `garage repair block-rc` walks besides `block_local_rc`.
    @tparam Model A @ref garage::model::basic_model.
    @param m     The model.
    @param after List the hashes after this one (from the first when absent).
    @param max   The most hashes returned.
    @return Up to `max` distinct hashes; fewer only at the end of the table; a storage error. */
template <class Model>
util::result<std::vector<util::hash32>> referenced_blocks(Model& m, std::optional<util::hash32> const& after,
                                                          std::size_t max);

/** The recount of a block's references for the block manager (`set_rc_recount`): the number
    of live (not deleted) `block_ref` entries of the block, read in the caller's transaction.
    @tparam Model A @ref garage::model::basic_model.
    @param m The model; it must outlive the function.
    @return The function. */
template <class Model>
std::function<util::result<std::uint64_t>(typename Model::storage_type::transaction_type&,
                                          util::hash32 const&)>
block_ref_recount(Model& m);

/** A table repair worker (Garage's `TableRepairWorker`): walks this node's copy of one table
    in key order, `batch` entries per step, asks `Repair` whether each needs fixing and writes
    the fixes of a step together; then logs how many entries it examined and fixed, and ends.

    Lookups of other tables (the object of a version, ...) are quorum reads when the worker
    has a cluster (an entry's owner may be stored on other nodes), local reads otherwise.
    Fixes are merged into the local table in a @ref garage::util::write_capture scope, and what
    was captured is sent to the other nodes with @ref garage::model::model_cluster::replicate;
    the hooks' cascades (a deleted version's block references, a deleted block reference's
    count) follow through the insert queues.

    `Repair` is one of @ref repair_versions, @ref repair_mpu, @ref repair_block_refs.

    @tparam Model  A @ref garage::model::basic_model.
    @tparam Repair The check and the fix.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe (the runner calls it from one loop).
*/
template <class Model, class Repair>
class table_repair_worker final : public util::worker {
public:
    /** @param m       The model; it must outlive the worker.
        @param cluster The cluster view of the model, or null for this node alone.
        @param options The batch size. */
    table_repair_worker(Model& m, model_cluster<Model>* cluster, model_repair_options options = {});

    /// @return `"<table> repair worker"` (Garage's name, e.g. `"version repair worker"`).
    std::string name() const override;
    /// @return `progress`: `"<checked> (<fixed>)"`, as Garage shows it.
    util::worker_status status() const override;
    /// @return One step: the next `batch` entries examined, their fixes written; `done` at the end.
    boost::asio::awaitable<util::result<util::worker_step>> work() override;
    /// @return Completes at once (the worker never waits).
    boost::asio::awaitable<void> wait_for_work() override;

    /// @return The counts so far.
    model_repair_stats const& stats() const noexcept { return stats_; }
    /// @return Whether the walk has ended.
    bool finished() const noexcept { return done_; }

private:
    Model& model_;
    model_cluster<Model>* cluster_;
    model_repair_options options_;
    std::string pos_;
    model_repair_stats stats_;
    bool done_ = false;
};

/** `garage repair versions` (Garage's `RepairVersions`): a version that is not deleted is
    deleted when its owner no longer references it: for an object version, the object is
    missing or has no version of that id that is not aborted; for a part, the upload is
    missing or deleted. */
struct repair_versions {
    /** @param m The model. @return Its version table. */
    template <class Model>
    static auto& table(Model& m)
    {
        return m.version_table();
    }
};

/** `garage repair mpu` (Garage's `RepairMpu`): an upload that is not deleted is deleted when
    its object is missing or has no version of the upload's id that is a multipart upload in
    progress. */
struct repair_mpu {
    /** @param m The model. @return Its multipart upload table. */
    template <class Model>
    static auto& table(Model& m)
    {
        return m.mpu_table();
    }
};

/** `garage repair block-refs` (Garage's `RepairBlockRefs`): a block reference that is not
    deleted is deleted when its version is missing or deleted. */
struct repair_block_refs {
    /** @param m The model. @return Its block reference table. */
    template <class Model>
    static auto& table(Model& m)
    {
        return m.block_ref_table();
    }
};

/** `garage repair aliases` as a worker: computes @ref plan_alias_repair in its first step and
    writes the fixes (alias table, keys, buckets; each table in one transaction), replicated
    through the cluster when it has one; then logs the counts and ends.
    @tparam Model A @ref garage::model::basic_model.
    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe. */
template <class Model>
class alias_repair_worker final : public util::worker {
public:
    /** @param m The model; it must outlive the worker.
        @param cluster The cluster view of the model, or null for this node alone. */
    alias_repair_worker(Model& m, model_cluster<Model>* cluster);

    /// @return `"Bucket alias repair worker"`.
    std::string name() const override { return "Bucket alias repair worker"; }
    /// @return The counts of what was fixed.
    util::worker_status status() const override;
    /// @return The only step: plan, write, replicate; `done`.
    boost::asio::awaitable<util::result<util::worker_step>> work() override;
    /// @return Completes at once.
    boost::asio::awaitable<void> wait_for_work() override;

    /// @return Whether the repair has run.
    bool finished() const noexcept { return done_; }

private:
    Model& model_;
    model_cluster<Model>* cluster_;
    std::size_t aliases_ = 0, keys_ = 0, buckets_ = 0;
    bool done_ = false;
};

/** Starts one model repair on `runner`.
    @tparam Model A @ref garage::model::basic_model.
    @param m       The model; it must outlive the worker.
    @param runner  Where the worker runs.
    @param what    The repair.
    @param cluster The cluster view of the model (quorum reads, replicated fixes), or null.
    @param options The batch size of the table repairs.
    @return The worker's id in `runner`.
    @par Example
    @code
    auto id = model::spawn_model_repair(*model, runner, model::model_repair::versions, cluster.get());
    @endcode */
template <class Model>
std::size_t spawn_model_repair(Model& m, util::background_runner& runner, model_repair what,
                               model_cluster<Model>* cluster = nullptr, model_repair_options options = {});

} // namespace garage::model

#include <garage/model/impl/repair.hpp>
