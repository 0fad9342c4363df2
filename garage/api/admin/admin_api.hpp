#pragma once
/** @file
    Garage's admin API (v1): health, access keys and buckets, as JSON over HTTP with a bearer
    token (GARAGE-REFERENCE §3).
*/

#include <garage/api/http/server.hpp>
#include <garage/block/manager.hpp>
#include <garage/block/rc.hpp>
#include <garage/block/workers.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/layout/manager.hpp>
#include <garage/layout/system.hpp>
#include <garage/metrics/registry.hpp>
#include <garage/model/cluster.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/** Garage's admin API (v1) over the data model: @ref garage::api::admin::admin_api_server.
    Bazel target `//garage/api/admin`.
*/
namespace garage::api::admin {

/// What the admin API needs to know of the node's configuration.
struct admin_settings {
    std::optional<std::string> admin_token;   ///< `[admin] admin_token`; unset: the API is closed
    std::optional<std::string> metrics_token; ///< `[admin] metrics_token`; unset: `/metrics` is open
    std::string region;                       ///< `[s3_api] s3_region`, echoed in errors
    std::string s3_root_domain;               ///< `[s3_api] root_domain`, for `/check`
    std::string web_root_domain;              ///< `[s3_web] root_domain`, for `/check`
};

/** The block store of a node as the block endpoints (`/v1/block/...`) and the block repairs of
    `POST /v1/repair` see it: type-erased, so that the admin API does not depend on the node's
    storage type. @ref block_access makes one from a @ref garage::block::block_manager. A member
    left empty makes the endpoints that need it answer `501` naming what is missing.
*/
struct admin_block_access {
    /// The blocks whose resync keeps failing, by hash (`GET /v1/block/errors`).
    std::function<util::result<std::vector<block::resync_error_info>>()> list_errors;
    /// A block's reference count on this node (`block_local_rc`).
    std::function<util::result<block::rc_value>(util::hash32 const&)> get_rc;
    /// Whether a copy of a block is stored on this node (unverified).
    std::function<bool(util::hash32 const&)> has_block;
    /// Forgets a block's resync back-off and queues its resync now (`POST /v1/block/retry-now`);
    /// a failure (`block::error::block_not_found`) when the block is not in error.
    std::function<util::result<void>(util::hash32 const&)> clear_backoff;
    /// Starts "Block repair worker" (`garage repair blocks`); returns its worker id.
    std::function<util::result<std::size_t>()> repair_blocks;
    /// Sends a command to the scrub worker (`garage repair scrub start|pause|resume|cancel|set-tranquility`).
    std::function<util::result<void>(block::block_worker_control::scrub_command const&)> scrub;
    /// Starts moving every block file to its primary data directory (`garage repair rebalance`);
    /// returns its worker id.
    std::function<util::result<std::size_t>()> rebalance;
};

/** The block access of a block manager.
    @tparam Storage The manager's metadata DB.
    @param m       The manager; it must outlive the admin server.
    @param runner  Where `repair_blocks` spawns its worker; null leaves `repair_blocks` empty.
    @param control The block workers' control (from @ref garage::block::spawn_workers); null
                   leaves `scrub` empty.
    @return Every member set but those the null arguments leave empty.
    @par Example
    @code
    access.blocks = api::admin::block_access(*blocks, runner.get(), block_control);
    @endcode */
template <storage::storage_backend Storage>
admin_block_access block_access(block::block_manager<Storage>& m, util::background_runner* runner = nullptr,
                                std::shared_ptr<block::block_worker_control> control = nullptr);

/** What the admin API may read and steer of its node beyond the data model (each part
    optional: an endpoint whose part is missing answers `400`, as Garage's `/metrics` does when
    built without metrics).
*/
struct admin_node_access {
    /// The node's metrics: `GET /metrics` (Prometheus text) and `GET /v1/stats` (JSON).
    metrics::registry const* metrics = nullptr;
    /// The node's background workers: `GET /v1/worker`.
    util::background_runner const* workers = nullptr;
    /// The worker variables and their values (`GET /v1/worker/var`), sorted by name.
    std::function<std::vector<std::pair<std::string, std::string>>()> get_worker_vars;
    /// Sets a worker variable (`POST /v1/worker/var`); a failure names an unknown variable or a bad value.
    std::function<util::result<void>(std::string_view name, std::string_view value)> set_worker_var;
    /** The node's layout: `GET|POST /v1/layout`, `POST /v1/layout/apply`, `POST /v1/layout/revert`
        and the layout version of `GET /v1/status` (with @ref system; without both these
        answer `501`, and `GET /v1/health` describes this node alone). */
    layout::layout_manager* layout = nullptr;
    /// The node's membership services: `GET /v1/status`, `GET /v1/health`, `POST /v1/connect`.
    layout::system* system = nullptr;
    /// This node's RPC address (`ip:port`) for `GET /v1/status` when the membership services know none.
    std::string rpc_address;
    /// The version reported by `GET /v1/status` (`garageVersion`).
    std::string garage_version = "unknown";
    /// The node's block store: `/v1/block/...` and the block repairs of `POST /v1/repair`.
    admin_block_access blocks;
    /** Starts a full Merkle sync pass of every table (`garage repair tables`). Empty while the
        node's tables are not replicated (no syncer to trigger): the repair then answers `501`. */
    std::function<util::result<void>()> sync_tables;
    /** Starts the repair worker of the data model named `what` (`versions`, `mpu`,
        `block-refs`, `block-rc`, `aliases`: `garage repair <what>`) and returns its worker id
        (@ref model_repairs makes one). Empty: those repairs answer `501`. */
    std::function<util::result<std::size_t>(std::string_view what)> repair_model;
};

/** The model repairs of a node (@ref admin_node_access::repair_model): `versions`, `mpu`,
    `block-refs` and `aliases` (@ref garage::model::spawn_model_repair) and `block-rc`
    (@ref garage::block::spawn_block_rc_repair over the blocks of `block_local_rc` and of the
    `block_ref` table).
    `block-rc` needs the model's recount of a block's references installed on the manager
    (`blocks.set_rc_recount(model::block_ref_recount(m))`, before the manager is shared);
    without it that worker fails at its first step.
    @tparam Model   A @ref garage::model::basic_model whose block reference counts go to `blocks`.
    @tparam Storage The manager's metadata DB.
    @param m       The model; it must outlive the function.
    @param blocks  The block manager; it must outlive the function.
    @param runner  Where the workers run; it must outlive the function.
    @param cluster The cluster view of the model (quorum reads, fixes replicated), or null.
    @return The function; it fails with `util::error::config_invalid_value` for another name.
    @par Example
    @code
    access.repair_model = api::admin::model_repairs(*model, *blocks, *runner, cluster.get());
    @endcode */
template <class Model, storage::storage_backend Storage>
std::function<util::result<std::size_t>(std::string_view what)>
model_repairs(Model& m, block::block_manager<Storage>& blocks, util::background_runner& runner,
              model::model_cluster<Model>* cluster = nullptr);

/** The name of the admin endpoint a request goes to, for logs and the `api_admin_*` metrics
    (Garage's names: `Health`, `Metrics`, `CheckDomain`, `GetClusterHealth`, `ListKeys`, ...).
    @param method The HTTP method.
    @param target The request target (path and query).
    @return The endpoint's name; `"Options"` for `OPTIONS`; `"Unknown"` if none matches. */
inline std::string_view admin_endpoint_name(std::string_view method, std::string_view target);

/// Internals of the admin API.
namespace detail {
struct reply; // an endpoint's answer (detail/reply.hpp)
} // namespace detail

/** The admin API of one node.

    Endpoints: `GET /health`, `GET /check?domain=`, `GET /v1/health`, `GET /v1/status`, and the
    key and bucket endpoints of Garage's v1 API (`/v1/key`, `/v1/key/import`, `/v1/bucket`,
    `/v1/bucket/allow`, `/v1/bucket/deny`, `/v1/bucket/alias/global`, `/v1/bucket/alias/local`),
    with Garage's field names. Every endpoint but `/health` and `/check` needs
    `Authorization: Bearer <admin_token>`; errors are JSON `{code, message, path, region}`.
    The cluster endpoints (`GET /v1/status`, `POST /v1/connect`, `GET|POST /v1/layout`,
    `POST /v1/layout/apply`, `POST /v1/layout/revert`, and `GET /v1/health` from the real
    cluster health) are served when the node gives its layout manager and membership services
    (@ref admin_node_access); otherwise they answer `501` (`/v1/health`: this node alone).
    `POST /v1/layout` takes Garage v1's array of role changes, or Garage v2's
    `{roles, parameters: {zoneRedundancy}}`.

    Beyond Garage's v1 (whose CLI speaks RPC for these): `GET /metrics` (Prometheus text, with
    `metrics_token` when one is configured, else open), `GET /v1/stats` (the same figures as
    JSON), `GET /v1/worker` (the background workers), `GET /v1/worker/var[?name=]` and
    `POST /v1/worker/var` with `{"name", "value"}` (Garage's `garage worker get|set`), and, in
    the shapes of Garage v2's admin API (docs/admin-api.md):
    - `GET /v1/layout/history` (`garage layout history`) and `POST /v1/layout/skip-dead-nodes`
      with `{version, allowMissingData}` (`garage layout skip-dead-nodes`);
    - `GET /v1/block/errors` (`garage block list-errors`), `GET /v1/block/info?hash=<hex or
      prefix>` (`garage block info`), `POST /v1/block/retry-now` with `{"all": true}` or
      `{"blockHashes": [...]}`, `POST /v1/block/purge` with `[hash, ...]` (`garage block
      purge`: the objects, uploads, versions and block references using the blocks are deleted);
    - `POST /v1/repair` with `{"repairType": ...}` (`garage repair`).

    @tparam Model A @ref garage::model::basic_model.

    @par Thread Safety
    Shared objects: safe (each request reads and writes the model's tables).
*/
template <class Model>
class admin_api_server {
public:
    /** @param model    The node's data model; it must outlive the server.
        @param settings Tokens and names from the configuration.
        @param node     Metrics and workers of the node; what it points to must outlive the server. */
    admin_api_server(Model& model, admin_settings settings, admin_node_access node = {});

    /** Answers one request: reads its body (at most 1 MiB), routes it, checks the bearer
        token, runs the endpoint and responds (JSON, plain text for the text endpoints, or a
        JSON error carrying the path and region). `OPTIONS` gets `204` with CORS headers.
        @param ex The exchange.
        @return A coroutine completing once the response has been written. */
    boost::asio::awaitable<void> handle(http::exchange& ex);

    /** Replicates the key and bucket writes of the endpoints to the other nodes before answering.
        @param cluster The cluster view of the model (null: this node alone); must outlive the server. */
    void set_cluster(model::model_cluster<Model>* cluster) noexcept { cluster_ = cluster; }

private:
    model::model_cluster<Model>* cluster_ = nullptr;
    /// Serves the cluster endpoints (token checked here) when the node gave its layout and system.
    boost::asio::awaitable<detail::reply> serve_cluster(std::string_view method, std::string path,
                                                        std::string_view auth, std::string body);

    Model& model_;
    admin_settings settings_;
    admin_node_access node_;
};

} // namespace garage::api::admin

#include <garage/api/admin/impl/admin_api.hpp>
