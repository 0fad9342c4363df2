#pragma once
/** @file
    Quorum calls over the network (Garage's `RpcHelper`): the node preference order, and
    `try_call_many` / `try_write_many_sets` for typed endpoints.
*/

#include <garage/rpc/endpoint.hpp>
#include <garage/rpc/network.hpp>

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace garage::rpc {

/// How to send a quorum call (Garage's `RequestStrategy`).
struct request_strategy {
    /// How many successful answers are needed.
    std::size_t quorum = 1;
    /// The priority of every request.
    rpc::priority priority = rpc::priority::normal;
    /// The timeout of each request; absent: the network's default.
    std::optional<std::chrono::milliseconds> timeout;
    /// Send to every node at once instead of only `quorum` at first (then more on failures).
    bool send_all_at_once = false;
    /// Kept alive until every request of the call has ended, including those that go on in
    /// the background once the quorum is reached (e.g. a lease on a RAM budget held while a
    /// block is still being sent to the last node); may be empty.
    std::shared_ptr<void> hold_until_done;
    /** For `rpc_helper::try_write_many_sets`: nodes that already hold the write (this node,
        having written locally). They are not called, and count as a success in every set
        that contains them. */
    std::vector<util::node_id> already_done;
};

/** The successful answers of a quorum call, each with the node that gave it.
    @tparam M The response type. */
template <class M>
using quorum_responses = std::vector<std::pair<util::node_id, M>>;

/// The latency assumed for a node never pinged (Garage: 10 s).
inline constexpr std::chrono::milliseconds unknown_latency{10'000};

/** Quorum calls with Garage's node preference: this node first, then nodes of this node's
    zone, then the lowest average ping (@ref unknown_latency when never measured).

    Zones come from the layout, a layer above; the function given to the constructor answers
    them. Pings are recorded by peering (@ref record_ping).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class rpc_helper {
public:
    /// Answers a node's zone, or `std::nullopt` when it has no role.
    using zone_function = std::function<std::optional<std::string>(util::node_id const&)>;

    /** @param net     The transport (must outlive this object and the calls).
        @param zone_of The zone of a node; may be empty (no zone preference). */
    explicit rpc_helper(network& net, zone_function zone_of = {});

    /// @return The transport.
    network& net() const noexcept { return net_; }

    /** Records one ping round trip to `node` (an exponential moving average is kept).
        @param node The node. @param rtt The round-trip time. */
    void record_ping(util::node_id const& node, std::chrono::milliseconds rtt);

    /** @param node A node.
        @return Its average ping, or `std::nullopt` if never measured. */
    std::optional<std::chrono::milliseconds> average_ping(util::node_id const& node) const;

    /** Orders nodes by preference: self, same zone, then lowest average ping.
        @param nodes The candidates.
        @return The same nodes, best first (stable among equals). */
    std::vector<util::node_id> request_order(std::vector<util::node_id> nodes) const;

    /** Calls endpoint `E` on `nodes` until `strategy.quorum` succeed.

        Sends to the `quorum` preferred nodes first (all of them with `send_all_at_once`) and
        to the next one each time a request fails. Returns as soon as the quorum is reached;
        requests still in flight are then cancelled.

        @tparam E Models `endpoint`.
        @param nodes    The candidate nodes.
        @param request  The request, sent to each.
        @param strategy Quorum, priority, timeout.
        @return The `quorum` successful answers; `error::quorum_not_reached` otherwise, whose
                message lists each node's error. */
    template <endpoint E>
    boost::asio::awaitable<util::result<quorum_responses<typename E::response_type>>>
    try_call_many(std::vector<util::node_id> nodes, typename E::request_type request,
                  request_strategy strategy);

    /** Calls endpoint `E` on every node of every write set at once (each node once) and
        returns when every set has `strategy.quorum` successes among its nodes; the remaining
        requests continue in the background (Garage's `try_write_many_sets`).

        @tparam E Models `endpoint`.
        @param write_sets The sets (one per live layout version).
        @param request    The request, sent to each node.
        @param strategy   Quorum (per set), priority, timeout.
        @return The successes received by then; `error::quorum_not_reached` as soon as one
                set cannot reach its quorum any more. */
    template <endpoint E>
    boost::asio::awaitable<util::result<quorum_responses<typename E::response_type>>>
    try_write_many_sets(std::vector<std::vector<util::node_id>> write_sets, typename E::request_type request,
                        request_strategy strategy);

    /** The untyped fan-out that @ref try_call_many wraps (compiled once, in rpc_helper.cpp).
        @param nodes The candidates. @param path The endpoint's path.
        @param request The encoded request. @param strategy Quorum, priority, timeout.
        @return The encoded answers of a quorum; a quorum error listing each node's failure. */
    boost::asio::awaitable<util::result<quorum_responses<raw_message>>>
    raw_try_call_many(std::vector<util::node_id> nodes, std::string path, raw_message request,
                      request_strategy strategy);
    /** The untyped fan-out that @ref try_write_many_sets wraps.
        @param write_sets The sets of nodes, each needing its quorum. @param path The endpoint's path.
        @param request The encoded request. @param strategy Quorum, priority, timeout.
        @return The encoded answers once every set has its quorum; a quorum error otherwise. */
    boost::asio::awaitable<util::result<quorum_responses<raw_message>>>
    raw_try_write_many_sets(std::vector<std::vector<util::node_id>> write_sets, std::string path,
                            raw_message request, request_strategy strategy);

private:
    network& net_;
    zone_function zone_of_;
    mutable std::mutex mutex_;
    std::unordered_map<util::node_id, double> ping_msec_; // moving average
};

} // namespace garage::rpc

#include <garage/rpc/impl/rpc_helper.hpp>
