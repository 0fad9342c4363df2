#pragma once
// The reference server's observability: the node's metrics read at scrape time (tables, blocks,
// cluster health, disks), the worker variables of `garage worker get|set`, and the S3 endpoint
// names of the request logs and `api_s3_*` metrics.

#include <server/node.hpp>

#include <garage/api/http/server.hpp>
#include <garage/block/workers.hpp>
#include <garage/layout/system.hpp>
#include <garage/metrics/registry.hpp>
#include <garage/util/config.hpp>
#include <garage/util/worker.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::server {

/// The version the node reports (`garage_build_info{version}`, `garage stats`).
inline constexpr std::string_view node_version = "v1.2.0-cpp";

/** Registers the node's gauges that are read at each scrape, under Garage's names
    (GARAGE-REFERENCE §3.1): `garage_build_info`, `garage_replication_factor`,
    `garage_local_disk_avail|total{volume}`, the `cluster_*` health figures (a node alone is
    the whole cluster: healthy, every partition with quorum), `table_size`,
    `table_merkle_updater_todo_queue_length` and `table_gc_todo_queue_length` per table,
    `block_resync_queue_length`, `block_resync_errored_blocks`, `block_rc_size`,
    `block_compression_level`.
    @param reg    Where to register; the model and blocks must outlive its scrapes.
    @param cfg    The node's configuration.
    @param model  The tables.
    @param blocks The block store.
    @param sys    The membership services, whose health the `cluster_*` gauges report at each
                  scrape (null: the node alone, healthy). */
void register_node_metrics(metrics::registry& reg, util::config const& cfg, model_type& model,
                           blocks_type& blocks, layout::system const* sys = nullptr);

/** The worker variables of `garage worker get|set`: `resync-worker-count`,
    `resync-tranquility`, `scrub-tranquility` (settable); `scrub-last-completed`,
    `scrub-next-run`, `scrub-corruptions_detected`, `lifecycle-last-completed` (read only).

    @par Thread Safety
    Shared objects: safe.
*/
class worker_variables {
public:
    /** @param control The block workers' control; @param runner The node's workers (for the
        lifecycle worker's status); both must outlive this object. */
    worker_variables(std::shared_ptr<block::block_worker_control> control,
                     util::background_runner const& runner);

    /// @return Every variable and its value, sorted by name.
    std::vector<std::pair<std::string, std::string>> get() const;

    /** Sets a variable.
        @param name  The variable.
        @param value Its new value (a decimal integer).
        @return Success; a failure naming an unknown or read-only variable, or a bad value. */
    util::result<void> set(std::string_view name, std::string_view value);

private:
    std::shared_ptr<block::block_worker_control> control_;
    util::background_runner const& runner_;
};

/** The S3 endpoint of a request, as the S3 router finds it (`PutObject`, `ListObjectsV2`, ...).
    @param req         The request header.
    @param root_domain `[s3_api] root_domain`.
    @return The endpoint's AWS name; `"Invalid"` if the router refuses the request. */
std::string_view s3_endpoint_name(api::http::request_header const& req, std::string_view root_domain);

} // namespace garage::server
