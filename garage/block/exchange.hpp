#pragma once
/** @file
    `block_exchange<Storage, Replication>`: the cluster half of the block manager (Garage's
    `rpc_put_block`, `rpc_get_block`, the `BlockRpc` handler and the offload half of
    `resync_block`). It serves GetBlock, PutBlock and NeedBlockQuery on an `rpc::network`,
    writes blocks to their storage nodes with the write quorum, reads them from the best node
    first, and gives the resync workers a @ref garage::block::block_fetcher over RPC.
*/

#include <garage/block/block.hpp>
#include <garage/block/block_rpc.hpp>
#include <garage/block/detail/exchange_support.hpp>
#include <garage/block/fetcher.hpp>
#include <garage/block/manager.hpp>
#include <garage/replication/concepts.hpp>
#include <garage/rpc/endpoint.hpp>
#include <garage/rpc/message.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/storage/group_commit.hpp>
#include <garage/util/byte_budget.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace garage::block {

/// Settings of a @ref garage::block::block_exchange.
struct block_exchange_options {
    /// The most bytes of blocks being written to other nodes at once (`block_ram_buffer_max`,
    /// 256 MiB by default; 0: unbounded). A put holds its block's bytes until every node it was
    /// sent to has answered, including those that answer after the quorum.
    std::uint64_t ram_buffer_max = std::uint64_t(256) << 20;
    /// The timeout of each call to one node (a put to one node, a get from one node, a
    /// NeedBlockQuery); absent: the network's `call_timeout` (Garage's `rpc_timeout_msec`).
    std::optional<std::chrono::milliseconds> timeout;
};

/// How @ref garage::block::block_exchange::put_block sends a block.
struct block_put_options {
    /// The priority of the PutBlock calls (Garage: `PRIO_NORMAL | PRIO_SECONDARY`).
    rpc::priority priority = rpc::priority::normal | rpc::priority::secondary;
    /** This node already stored the block (e.g. an upload wrote it locally first): it is not
        sent here and counts as one success in each write set that contains this node; a block
        whose write sets are this node alone is not sent at all. */
    bool stored_here = false;
};

/// How @ref garage::block::block_exchange::get_block looks for a block.
struct block_get_options {
    /// The priority of the GetBlock calls.
    rpc::priority priority = rpc::priority::normal | rpc::priority::secondary;
    /// Ask only the other nodes (a resync of a block missing here).
    bool skip_local = false;
};

/** The cluster half of the block store: serves and sends the block RPC.

    **Serving** (after @ref start): GetBlock answers the local copy as stored (verified by the
    manager; a corrupt copy is set aside there and the call fails, so a bad copy never leaves
    the node); PutBlock stores the body only after checking it against the hash (so a peer can
    never plant a corrupt block; nothing is written otherwise); NeedBlockQuery says whether a
    copy is here and whether the block is referenced here but missing.

    **Writing** (@ref put_block): the block goes to every node of every write set of
    `Replication` at once and the call returns once each set has `write_quorum()` successes
    (`rpc::rpc_helper::try_write_many_sets`); the remaining calls finish in the background.
    The block's bytes count against a RAM budget (`ram_buffer_max`) from before the first
    call until the last node has answered, so that puts in flight hold bounded memory.

    **Reading** (@ref get_block): the candidate nodes (read nodes, then storage nodes and
    write sets) in `rpc_helper`'s order: this node, same zone, lowest ping. Each is tried in
    turn, with the timeout; a failure, or data that does not match the hash, moves on to the
    next one. Blocks are content-addressed, so one good copy is enough (read quorum 1).

    **Resync** (@ref start installs the fetcher in the manager): a resync worker fetches a
    referenced but missing block from the other nodes; before deleting an unreferenced block
    it sends it to the storage nodes that still need it (NeedBlockQuery, then PutBlock); and a
    block that this node should not store (not in `storage_nodes(h)`, e.g. after a layout
    change) is handed to every storage node that lacks it, the local copy being deleted only
    once all of them have it. The fetcher waits for the RPCs from the worker's thread: run the
    resync workers on a thread pool that runs neither the network's executor nor `blocking`.

    @tparam Storage     Models @ref garage::storage::storage_backend (the manager's metadata DB).
    @tparam Replication Models @ref garage::replication::replication_policy (which nodes store
                        a block, by its hash; the write sets and the write quorum).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe; the coroutines may run on any thread of the
    network's executor. Call @ref start once, and await @ref stop before destroying it.

    @par Example
    @code
    block::block_exchange<storage::lmdb_backend, replication::sharded> blocks(
        *manager, helper, sharded, blocking_pool.get_executor(), {.ram_buffer_max = 256 << 20});
    blocks.start();
    auto ok = co_await blocks.put_block(util::blake2sum(chunk), chunk);
    auto data = co_await blocks.get_block(hash);       // the plain bytes, verified
    co_await blocks.stop();
    @endcode
*/
template <storage::storage_backend Storage, replication::replication_policy Replication>
class block_exchange {
public:
    /// The local block store's type.
    using manager_type = block_manager<Storage>;
    /// The replication policy's type.
    using replication_type = Replication;

    /** Makes the service; nothing is served before @ref start.
        @param manager  The local blocks; must outlive this object.
        @param helper   Quorum calls and node order, over the node's network; must outlive this object.
        @param replication Which nodes store each block.
        @param blocking Where disk I/O, hashing and compression run (a thread pool; not the one
                        the resync workers run on). Empty: inline, on the network's threads.
        @param options  RAM budget and timeout. */
    block_exchange(manager_type& manager, rpc::rpc_helper& helper, Replication replication,
                   boost::asio::any_io_executor blocking, block_exchange_options options = {});
    block_exchange(block_exchange const&) = delete;
    block_exchange& operator=(block_exchange const&) = delete;
    /// Unregisters the handler if @ref stop was not awaited (work still in flight is then unsafe).
    ~block_exchange();

    /** Registers the block endpoint on the network and installs the RPC fetcher in the
        manager (@ref garage::block::block_manager::set_fetcher): call before the resync
        workers start. */
    void start();

    /** Unregisters the endpoint, refuses new work (the fetcher then fails with
        `error::block_not_found`) and waits until every call in flight, including the
        background remainder of puts, has ended. Idempotent.
        @return An awaitable that completes once nothing is in flight any more. */
    boost::asio::awaitable<void> stop();

    /** Encodes `data` as the manager would store it (zstd at its `compression_level`, on the
        blocking executor) and writes it to the block's storage nodes (see the class).
        @param h       The block's hash (BLAKE2b of `data`); a wrong one is refused by every node.
        @param data    The plain bytes.
        @param options The priority.
        @return Success once every write set has its quorum; `rpc::error::quorum_not_reached`
                listing each node's failure otherwise; `rpc::error::shutting_down` after @ref stop. */
    boost::asio::awaitable<util::result<void>> put_block(util::hash32 h, std::string data,
                                                         block_put_options options = {});

    /** Writes an encoded block to the block's storage nodes (as @ref put_block).
        @param h       The block's hash.
        @param blk     The block as it is to be stored.
        @param options The priority.
        @return As @ref put_block. */
    boost::asio::awaitable<util::result<void>> put_raw_block(util::hash32 h, data_block blk,
                                                             block_put_options options = {});

    /** Reads block `h` from the best node that has a good copy (see the class), decoded.
        @param h       The block's hash.
        @param options Priority; whether to skip the local copy.
        @return The plain bytes, verified against `h`; `error::block_not_found` naming each
                node's failure when no node gave a good copy. */
    boost::asio::awaitable<util::result<std::string>> get_block(util::hash32 h,
                                                                block_get_options options = {});

    /** Reads block `h` as stored (plain or compressed) from the best node that has a good copy.
        @param h       The block's hash.
        @param options Priority; whether to skip the local copy.
        @return The block, verified against `h`; as @ref get_block otherwise. */
    boost::asio::awaitable<util::result<data_block>> get_raw_block(util::hash32 h,
                                                                   block_get_options options = {});

    /** Asks one node about a block (NeedBlockQuery).
        @param node The node.
        @param h    The block's hash.
        @return Its answer (`present`, `needed`); the call's failure. */
    boost::asio::awaitable<util::result<block_rpc_response>> query_need(util::node_id node, util::hash32 h);

    /** The nodes @ref get_block asks, in order: read nodes, storage nodes and write sets of
        `h`, each once, ordered by `rpc_helper::request_order`.
        @param h The block's hash. @return The nodes, best first. */
    std::vector<util::node_id> read_order(util::hash32 const& h) const;

    /** @param h A block's hash.
        @return True when this node is one of `replication().storage_nodes(h)`. */
    bool stores_here(util::hash32 const& h) const;

    /// @return The RAM budget of puts in flight (its `peak_in_use()` is the high-water mark).
    util::byte_budget const& ram_budget() const noexcept { return budget_; }
    /// @return The replication policy.
    Replication const& replication() const noexcept { return replication_; }
    /** Makes small blocks received from other nodes (@ref block_manager::is_small) go into the
        metadata DB through `committer`, in one transaction with the writes of concurrent
        requests, instead of a transaction each.
        @param committer The node's committer of the metadata DB (null: a transaction per
               block); it must outlive the handler. */
    void set_committer(storage::group_committer<Storage>* committer) noexcept { committer_ = committer; }

    /// @return The local blocks.
    manager_type& manager() noexcept { return manager_; }
    /// @return This node's id.
    util::node_id const& local_node() const noexcept { return helper_.net().id(); }

private:
    class rpc_fetcher;
    struct fetcher_link;
    enum class offload_mode { unreferenced, misplaced };

    boost::asio::awaitable<util::result<rpc::with_body<block_rpc_response>>>
    handle(util::node_id from, rpc::with_body<block_rpc_request> req);
    template <class T, class Accept>
    boost::asio::awaitable<util::result<T>> get_from_nodes(util::hash32 h, block_get_options options,
                                                           Accept accept);
    /// What a send keeps alive until its last node has answered: the RAM lease and the gate.
    struct send_hold {
        util::byte_budget::lease lease;
        detail::gate::token token;
    };
    /// Sends `blk` to Replication's write sets of `h` with the write quorum.
    boost::asio::awaitable<util::result<void>> send_to_write_sets(util::hash32 h, data_block blk,
                                                                  util::byte_budget::lease lease,
                                                                  detail::gate::token token,
                                                                  block_put_options const& options);
    boost::asio::awaitable<util::result<void>>
    send_block(util::hash32 h, data_block blk, std::vector<std::vector<util::node_id>> sets,
               std::size_t quorum, rpc::priority prio, detail::gate::token token, bool stored_here = false);
    boost::asio::awaitable<util::result<std::vector<util::node_id>>>
    plan_offload(util::hash32 h, offload_mode mode, detail::gate::token token);
    boost::asio::awaitable<util::result<data_block>> fetch_remote(util::hash32 h, detail::gate::token token);
    boost::asio::awaitable<util::result<void>>
    push_to(util::hash32 h, data_block blk, std::vector<util::node_id> nodes, detail::gate::token token);
    util::result<void> offload_from_thread(util::hash32 const& h, block_fetcher::block_reader const& read,
                                           offload_mode mode);
    std::optional<std::chrono::milliseconds> timeout() const noexcept { return options_.timeout; }

    manager_type& manager_;
    rpc::rpc_helper& helper_;
    [[no_unique_address]] Replication replication_;
    boost::asio::any_io_executor blocking_;
    block_exchange_options options_;
    util::byte_budget budget_;
    detail::gate gate_;
    std::shared_ptr<fetcher_link> link_;
    storage::group_committer<Storage>* committer_ = nullptr;
    bool started_ = false;
    bool stopped_ = false;
};

} // namespace garage::block

#include <garage/block/impl/exchange.hpp>
