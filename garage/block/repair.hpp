#pragma once
/** @file
    The block repairs: "Block repair worker" (Garage's `garage repair blocks`) queues every
    block this node references or stores for a resync check, so that missing blocks are
    fetched, misplaced ones handed over and unneeded ones collected; "Block refcount repair
    worker" (`garage repair block-rc`) recounts reference counts; "Block rebalance worker"
    (`garage repair rebalance`) moves block files to their primary data directory.
*/

#include <garage/block/manager.hpp>
#include <garage/block/store.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/worker.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace garage::block {

/** What @ref garage::block::spawn_block_repair queues.

    What triggers a resync check of a block, in one place:
    - a first reference (@ref garage::block::block_manager::incref, 0 → 1): after
      `missing_block_delay`, to fetch the block if the writer's PutBlock never came;
    - a read that finds no copy: after `missing_block_delay`;
    - a corrupt copy found by a read or by scrub: at once (the copy was set aside; it is
      fetched again from another node);
    - the last reference dropped (@ref garage::block::block_manager::decref): `gc_delay` later,
      to offload it to the nodes that still need it and delete it;
    - `repair blocks` (`referenced` and `stored`): every block of the reference counts, then
      every block stored here; run it a few hours after a layout change, as Garage's docs
      advise;
    - the rebalance pass after a layout change (`stored` only): every block stored here, so
      that those this node should no longer store are handed over and deleted.
*/
struct block_repair_options {
    /// Queue every block of the reference-count tree (`block_local_rc`).
    bool referenced = true;
    /// Queue every block stored here (small blocks in the metadata DB, then block files).
    bool stored = true;
    /// How many blocks one step queues (in one transaction).
    std::size_t batch = 256;
};

/** Starts "Block repair worker" on `runner`: it queues, batch by batch, a resync check (now)
    of every block the options name, then ends. The resync workers do the checks, at their
    tranquility.
    @tparam Storage The manager's metadata DB; models @ref garage::storage::storage_backend.
    @param m       The manager; it must outlive the worker.
    @param runner  Where the worker runs.
    @param options What to queue.
    @return The worker's id in `runner`.
    @par Thread Safety
    Safe; two repairs at once only queue blocks twice. */
template <storage::storage_backend Storage>
std::size_t spawn_block_repair(block_manager<Storage>& m, util::background_runner& runner,
                               block_repair_options options = {});

/// Lists blocks that have references elsewhere (the `block_ref` table), in hash order: those
/// after `after` (from the first when absent), at most `max`; fewer only at the end.
using referenced_blocks_function = std::function<util::result<std::vector<util::hash32>>(
    std::optional<util::hash32> const& after, std::size_t max)>;

/** What @ref garage::block::spawn_block_rc_repair walks. */
struct block_rc_repair_options {
    /** The blocks the `block_ref` table references (the model's
        `model::referenced_blocks`); empty: only the blocks of `block_local_rc` are rechecked. */
    referenced_blocks_function referenced;
    /// How many blocks one step rechecks (one transaction each).
    std::size_t batch = 64;
};

/** Starts "Block refcount repair worker" on `runner` (Garage's `BlockRcRepair`, `garage repair
    block-rc`): walks, in hash order, every block that has a reference count entry or a
    reference in the `block_ref` table, recounts its references with the manager's recount
    function (@ref garage::block::block_manager::set_rc_recount) and fixes the stored count
    where it differs (@ref garage::block::block_manager::recalculate_rc). A block left with no
    reference becomes deletable after the usual `gc_delay`; nothing is deleted at once. The
    worker logs how many blocks it checked and fixed, then ends.
    @tparam Storage The manager's metadata DB; models @ref garage::storage::storage_backend.
    @param m       The manager (with a recount function set); it must outlive the worker.
    @param runner  Where the worker runs.
    @param options The `block_ref` walk and the batch size.
    @return The worker's id in `runner`.
    @par Thread Safety
    Safe: each block is recounted in its own write transaction. */
template <storage::storage_backend Storage>
std::size_t spawn_block_rc_repair(block_manager<Storage>& m, util::background_runner& runner,
                                  block_rc_repair_options options = {});

/** What @ref garage::block::spawn_block_rebalance does per step. */
struct block_rebalance_options {
    /// How many block files one step looks at.
    std::size_t batch = 64;
};

/** Starts "Block rebalance worker" on `runner` (Garage's `RebalanceWorker`, `garage repair
    rebalance`): walks every block file of every data directory and moves each one that is
    not in its primary directory there (@ref garage::block::block_manager::rebalance_step);
    once the walk is over, drops the secondary locations from the data layout and saves it.
    The status shows the progress, the blocks and bytes moved; the end is logged.
    @tparam Storage The manager's metadata DB; models @ref garage::storage::storage_backend.
    @param m       The manager; it must outlive the worker.
    @param runner  Where the worker runs.
    @param options The batch size.
    @return The worker's id in `runner`.
    @par Thread Safety
    Safe with concurrent reads and writes of blocks (each move holds the block's mutex); run
    one rebalance at a time. */
template <storage::storage_backend Storage>
std::size_t spawn_block_rebalance(block_manager<Storage>& m, util::background_runner& runner,
                                  block_rebalance_options options = {});

} // namespace garage::block

#include <garage/block/impl/repair.hpp>
