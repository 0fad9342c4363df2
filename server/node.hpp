#pragma once
// One Garage node: the reference server's assembly of the framework's layers.

#include <garage/block/manager.hpp>
#include <garage/model/garage.hpp>
#include <garage/replication/full_copy.hpp>
#include <garage/replication/sharded.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <memory>

namespace garage::server {

/// The block store of the reference server.
using blocks_type = block::block_manager<storage::lmdb_backend>;
/// The data model of the reference server: every table on LMDB; buckets, aliases and keys on
/// every node (`full_copy`), objects, versions, block references, uploads and counters on the
/// nodes the layout gives their partition (`sharded`).
using model_type =
    model::basic_model<replication::full_copy, replication::sharded, storage::lmdb_backend, blocks_type>;

/** A running node: storage, block store, data model, background workers and the HTTP
    endpoints of the configuration (S3 API, admin API).

    Lifecycle: `open` starts everything bottom-up; `run` serves until SIGINT or SIGTERM, then
    stops everything top-down (HTTP endpoints drain, workers finish their step).
*/
class node {
public:
    /** Opens the RPC transport and the cluster layout, the metadata database, the block store
        and the model, and binds the endpoints.
        @param cfg         The configuration.
        @param single_node `--single-node`: on a first start (layout version 0, nothing staged),
                           assign this node (zone `dc1`, the data directories' capacity or 1 TB)
                           and apply layout version 1.
        @return a failure naming what could not be opened or bound. */
    static util::result<std::unique_ptr<node>> open(util::config const& cfg, bool single_node = false);

    ~node();
    node(node const&) = delete;
    node& operator=(node const&) = delete;

    /// Serves until a termination signal; then stops.
    void run();

    struct impl;

private:
    explicit node(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace garage::server
