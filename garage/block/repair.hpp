#pragma once
/** @file
    "Block repair worker" (Garage's `garage repair blocks`): queues every block this node
    references or stores for a resync check, so that missing blocks are fetched, misplaced
    ones handed over and unneeded ones collected.
*/

#include <garage/block/manager.hpp>
#include <garage/block/store.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/worker.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

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

} // namespace garage::block

#include <garage/block/impl/repair.hpp>
