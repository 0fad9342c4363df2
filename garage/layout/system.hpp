#pragma once
/** @file
    `system`: the cluster membership services of a node around its layout (Garage's `System`,
    reference §5.3): node status exchange, cluster health, the known nodes, the persisted peer
    list, bootstrap peers with DNS resolution, `garage node connect`, and the discovery loop.
*/

#include <garage/layout/manager.hpp>
#include <garage/layout/messages.hpp>
#include <garage/rpc/network.hpp>
#include <garage/rpc/node_key.hpp>
#include <garage/rpc/peering.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::layout {

/// How a @ref system is set up.
struct system_options {
    std::filesystem::path metadata_dir;                   ///< where `peer_list` is kept; its disk is reported
    std::vector<std::filesystem::path> data_dirs;         ///< the data directories, whose disks are reported
    std::optional<std::string> hostname;                  ///< the name advertised; absent: the host's name
    std::vector<std::string> bootstrap_peers;             ///< `<hex id>@<host>:<port>`, DNS names allowed
    std::chrono::milliseconds status_interval{10'000};    ///< `STATUS_EXCHANGE_INTERVAL`
    std::chrono::milliseconds discovery_interval{60'000}; ///< `DISCOVERY_INTERVAL`
    std::chrono::milliseconds rpc_timeout{10'000};        ///< timeout of each status or connect call

    /** The options of a node's configuration.
        @param config The parsed `garage.toml`.
        @return `metadata_dir`, the data directories and `bootstrap_peers` from it. */
    static system_options from_config(util::config const& config);
};

/// The overall state of the cluster (Garage `ClusterHealthStatus`).
enum class health_status {
    healthy,     ///< every storage node is up and every partition has all its nodes up
    degraded,    ///< every partition has a write quorum up in every live version
    unavailable, ///< some partition lacks a write quorum
};

/** @param s A health status.
    @return `"healthy"`, `"degraded"` or `"unavailable"`. */
std::string_view to_string(health_status s) noexcept;

/// The health of the cluster as this node sees it (Garage `ClusterHealth`, `GET /v1/health`).
struct cluster_health {
    health_status status = health_status::unavailable; ///< the verdict
    std::size_t known_nodes = 0;                       ///< nodes known (this one included)
    std::size_t connected_nodes = 0;                   ///< nodes up (this one included)
    std::size_t storage_nodes = 0;                     ///< storage nodes of the live layout versions
    std::size_t storage_nodes_ok = 0;                  ///< of which up
    std::size_t partitions = 0;                        ///< partitions (256)
    std::size_t partitions_quorum = 0; ///< partitions with a write quorum up in every live version
    std::size_t partitions_all_ok = 0; ///< partitions with all their nodes up in every live version
};

/** The membership services of a node: status exchange, health, discovery, connections.

    - **Status exchange**: every `status_interval` (@ref run) or on demand
      (@ref advertise_status), this node sends its @ref node_status (host name, replication
      factor, layout digest, free and total space of the metadata and data disks) to every
      connected peer. A received status is kept for @ref known_nodes, and its layout digest is
      handed to the layout manager, which pulls the layout or trackers when they differ. A
      status of another replication factor is refused (a node of another cluster).
    - **Health** (@ref health): Garage's rule with the write quorum of `consistent` mode.
    - **Peer list**: the nodes connected, with their addresses, are saved in
      `<metadata_dir>/peer_list` at each discovery step (keeping entries of nodes not
      connected now) and reloaded at start.
    - **Discovery** (@ref discover, every `discovery_interval` in @ref run): when the layout
      is not ready, fewer nodes than the replication factor are up, or the number of nodes up
      differs from the layout's, connects to the bootstrap peers (names resolved by DNS) and
      to the saved peer list.
    - **Connect** (@ref connect; also served as the `Connect` endpoint for
      `garage node connect`): parses `<hex id>@<host>:<port>`, resolves the host and connects.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class system {
public:
    /** Parses the bootstrap peers, loads the peer list and registers the endpoints.
        @param net     The transport (must outlive this object).
        @param peering The peering of `net` (must outlive this object).
        @param layout  The layout manager of `net` (must outlive this object).
        @param options Paths, names and timings.
        @return The system; `util::error::config_invalid_value` or `util::error::invalid_hex`
                naming the bad `bootstrap_peers` entry. A peer list that cannot be read is
                ignored (with a warning). */
    static util::result<std::unique_ptr<system>> open(rpc::network& net, rpc::peering& peering,
                                                      layout_manager& layout, system_options options);

    system(system const&) = delete;
    system& operator=(system const&) = delete;
    /// Stops the loops and removes the endpoints.
    ~system();

    /// @return This node's status now (the disks are measured at each call).
    node_status local_status() const;

    /// @return This node first, then every node peering knows or that advertised a status.
    std::vector<known_node> known_nodes() const;

    /// @return The health of the cluster as this node sees it.
    cluster_health health() const;

    /// @return The parsed bootstrap peers.
    std::vector<rpc::node_address> const& bootstrap_peers() const noexcept;

    /** Sends this node's status to every connected peer (one round of the status exchange).
        @return Done when every peer answered or failed. */
    boost::asio::awaitable<void> advertise_status();

    /** One discovery step: if the cluster looks incomplete, connects to the bootstrap peers
        and to the saved peer list; then saves the peer list.
        @return Whether connections were attempted. */
    boost::asio::awaitable<bool> discover();

    /** Connects to a node given as `<hex id>@<host>:<port>` (`garage node connect`), and
        keeps it connected (it is added to peering).
        @param node The specification; the host may be a DNS name.
        @return The node's id; `util::error::config_invalid_value` or
                `util::error::invalid_hex` for a malformed specification,
                `util::error::io_error` when the host does not resolve, or the failure of the
                last address tried. */
    boost::asio::awaitable<util::result<util::node_id>> connect(std::string node);

    /** Saves the peer list now: the nodes up with a known address, plus those of the
        previous list that are not up.
        @return Nothing, or the I/O error. */
    util::result<void> save_peer_list() const;

    /** Runs the status exchange and the discovery loop until @ref stop.
        @return Done once stopped. */
    boost::asio::awaitable<void> run();

    /// Makes @ref run return promptly.
    void stop();

    /// The state shared with the endpoint handlers and loops; opaque.
    struct state;

private:
    explicit system(std::shared_ptr<state> st);
    std::shared_ptr<state> state_;
};

} // namespace garage::layout
