#pragma once
/** @file
    Peering (first part of Garage's `src/net/peering.rs`): known peers and their addresses,
    connection with retries, pings that measure latency and mark nodes down, and gossip of
    the peer list when two nodes' lists differ.

    DNS names in bootstrap peers, the peer list persisted in `metadata_dir/peer_list`, node
    status exchange and cluster health are one layer up, in `layout::system`
    (garage/layout/system.hpp), which needs the layout.
*/

#include <garage/rpc/network.hpp>
#include <garage/rpc/rpc_helper.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace garage::rpc {

/// The timings of @ref peering (Garage's constants by default).
struct peering_options {
    std::chrono::milliseconds ping_interval{15'000};  ///< `PING_INTERVAL`
    std::chrono::milliseconds ping_timeout{10'000};   ///< `rpc_ping_timeout_msec`
    unsigned failed_ping_threshold = 4;               ///< `FAILED_PING_THRESHOLD`: then marked down
    std::chrono::milliseconds retry_interval{30'000}; ///< `CONN_RETRY_INTERVAL`
    unsigned max_retries = 10; ///< `CONN_MAX_RETRIES`: then forgotten until rediscovered
    std::optional<boost::asio::ip::tcp::endpoint>
        public_address; ///< this node's RPC address as announced (`rpc_public_addr`); absent: not gossiped
};

/// What peering knows of one node.
struct peer_info {
    util::node_id id;                                      ///< the node
    std::optional<boost::asio::ip::tcp::endpoint> address; ///< where it listens, if known
    bool up = false;                                       ///< connected and answering pings
    bool abandoned = false;                                ///< too many failed connection attempts
    unsigned failed_pings = 0;                             ///< consecutive failed pings
    unsigned connect_failures = 0;                         ///< consecutive failed connection attempts
    std::optional<std::chrono::milliseconds> last_ping;    ///< the last round-trip time
    std::uint64_t last_seen_msec = 0;                      ///< wall-clock time of the last answer (0: never)
};

/** Keeps this node connected to every known node and measures them.

    Serves two endpoints on the network: `garage_net/peering.rs/Ping` (answers with a hash of
    this node's peer list) and `garage_net/peering.rs/PeerList` (merges the caller's list,
    answers with ours). Each @ref tick connects to the known nodes that are not connected
    (retrying every `retry_interval`, up to `max_retries` times), pings the connected ones
    (recording the round-trip time in the @ref rpc_helper, and disconnecting a node after
    `failed_ping_threshold` failed pings), and exchanges peer lists with a node whose hash
    differs — so addresses propagate through the cluster.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class peering {
public:
    /** Registers the two endpoints on `net`.
        @param net     The transport (must outlive this object).
        @param helper  Where ping times are recorded (may be null; must outlive this object).
        @param options Timings and this node's public address. */
    peering(network& net, rpc_helper* helper, peering_options options = {});
    peering(peering const&) = delete;
    peering& operator=(peering const&) = delete;
    /// Removes the endpoints.
    ~peering();

    /** Adds a node to connect to (a bootstrap peer, or one learnt by gossip). A node already
        known gets the new address, and a node that was abandoned is tried again.
        @param id      The node.
        @param address Where it listens. */
    void add_peer(util::node_id const& id, boost::asio::ip::tcp::endpoint const& address);

    /** Adds a node given as `<hex id>@<ip>:<port>` (IP literals only for now).
        @param address The parsed address.
        @return `util::error::config_invalid_value` when the host is not an IP literal. */
    util::result<void> add_peer(node_address const& address);

    /// @return Every known node, this one excluded.
    std::vector<peer_info> peers() const;

    /// @return The hash of the known (node, address) pairs, compared in pings.
    util::hash32 peer_list_hash() const;

    /** Pings `peer` once (high priority, `ping_timeout`), recording the result.
        @param peer The node.
        @return The round-trip time, or the failure. */
    boost::asio::awaitable<util::result<std::chrono::milliseconds>> ping(util::node_id peer);

    /** One round: connect where due, ping the connected nodes, gossip where lists differ; the
        nodes are visited concurrently.
        @return The round, done when every connection attempt and ping of it ended. */
    boost::asio::awaitable<void> tick();

    /** Runs @ref tick every `ping_interval` until @ref stop.
        @return The loop, done once stopped. */
    boost::asio::awaitable<void> run();

    /// Makes @ref run return at its next wake-up.
    void stop();

    /// The state shared with the endpoint handlers.
    struct state;

private:
    /** Connects to `id` first if `address` is given, then pings it; disconnects it once marked
        down (a later round reconnects).
        @return Whether the node answered. */
    boost::asio::awaitable<util::result<bool>> visit(util::node_id id,
                                                     std::optional<boost::asio::ip::tcp::endpoint> address);

    network& net_;
    std::shared_ptr<state> state_;
};

} // namespace garage::rpc
