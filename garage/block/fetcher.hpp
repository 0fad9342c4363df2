#pragma once
/** @file
    The hooks through which the block manager reaches other nodes: fetching a block this node
    should have but lacks, and handing over a block before deleting the local copy.
*/

#include <garage/block/block.hpp>
#include <garage/block/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <functional>

namespace garage::block {

/** How the block manager reaches the other nodes of the cluster during a resync.

    The block manager knows only this node's disks; which other nodes store a block (the
    cluster layout and the replication policy) lies behind this interface. A single node uses
    @ref null_block_fetcher; the cluster layer supplies one that asks the block's storage
    nodes (Garage's `rpc_get_raw_block` and the offload half of `resync_block`).

    Called from resync workers, on a thread pool: implementations may block.

    @par Thread Safety
    Implementations must be safe to call from several threads at once.
*/
class block_fetcher {
public:
    /// A function that reads the local copy of a block (verified), when an offload needs it.
    using block_reader = std::function<util::result<data_block>()>;

    virtual ~block_fetcher() = default;

    /** Gets block `h`, referenced here but missing, from another node.
        @param h The block's hash.
        @return The block as stored there (plain or compressed; the manager verifies it);
                `error::block_not_found` if no node has it (the resync is retried later). */
    virtual util::result<data_block> fetch(util::hash32 const& h) = 0;

    /** Before this node deletes its unreferenced copy of `h`: sends it to the nodes that
        should store it but lack it (read it with `read` only if some node needs it).
        @param h    The block's hash.
        @param read Reads the local copy, verified.
        @return Success once every node that should store the block has it; a failure to
                keep the local copy and retry later. */
    virtual util::result<void> offload(util::hash32 const& h, block_reader const& read) = 0;

    /** Whether this node is one of the nodes that should store block `h` (under the current
        replication). A resync hands a block this node should not store to those nodes and
        deletes the local copy (@ref hand_over), and does not fetch it when it is missing.
        @param h The block's hash.
        @return True by default: a node alone stores every block. */
    virtual bool should_store(util::hash32 const& h)
    {
        (void)h;
        return true;
    }

    /** Before this node deletes its copy of a block it should not store (e.g. after a layout
        change): makes sure that every node that should store it has it, sending it to those
        that lack it (read it with `read` only if some node lacks it).
        @param h    The block's hash.
        @param read Reads the local copy, verified.
        @return Success once every node that should store the block has it (then the local
                copy is deleted); a failure to keep the local copy and retry later. The default
                keeps every copy. */
    virtual util::result<void> hand_over(util::hash32 const& h, block_reader const& read)
    {
        (void)read;
        return util::failure(error::invalid_options,
                             "no other node to hand block " + h.to_hex() + " over to");
    }
};

/** The fetcher of a node alone: nothing can be fetched and nothing needs offloading.

    @par Thread Safety
    Safe.
*/
class null_block_fetcher final : public block_fetcher {
public:
    /** Nothing to fetch from.
        @param h The block's hash (named in the message).
        @return Always `error::block_not_found`. */
    util::result<data_block> fetch(util::hash32 const& h) override
    {
        return util::failure(error::block_not_found,
                             "block " + h.to_hex() +
                                 " is missing and there is no other node to fetch it from");
    }

    /** Nothing to offload to.
        @return Always success, without reading the block. */
    util::result<void> offload(util::hash32 const&, block_reader const&) override { return {}; }
};

} // namespace garage::block
