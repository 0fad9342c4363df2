#pragma once
/** @file
    The node's RPC transport: listens for and opens authenticated TLS 1.3 links to other
    nodes, keeps one multiplexed connection per peer, dispatches requests to the handlers
    registered by path, and sends calls.

    The TLS and framing machinery lives in the .cpp files; @ref garage::rpc::call and
    @ref garage::rpc::serve (endpoint.hpp) are the typed layer over this class.
*/

#include <garage/rpc/error.hpp>
#include <garage/rpc/message.hpp>
#include <garage/rpc/node_key.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::rpc {

/// The limits and timeouts of a @ref network.
struct network_options {
    /// A peer must complete TCP connect, the TLS handshake and the secret proof within this.
    std::chrono::milliseconds handshake_timeout{10'000};
    /// The timeout of calls that do not give one (Garage's `rpc_timeout_msec`, 300 s).
    std::chrono::milliseconds call_timeout{300'000};
    /// The largest frame payload accepted; a larger frame closes the connection.
    std::size_t max_frame_size = 64 * 1024;
    /// The largest message (header, encoded message and body) accepted; larger closes the connection.
    std::size_t max_message_size = 128 * 1024 * 1024;
    /// The most requests a peer may have in progress on one link; more closes the connection.
    std::size_t max_incoming_requests = 1024;
};

/** Why a connection to a peer went up or down, for peering and logs. */
struct link_event {
    util::node_id peer;    ///< the peer
    bool up = false;       ///< true: connected (authenticated); false: closed
    bool outgoing = false; ///< true when this node opened the connection
    util::failure reason;  ///< for `up == false`: why it closed
};

/// Counters of a @ref network since it was made.
struct network_stats {
    std::uint64_t links_accepted = 0;        ///< incoming links that completed the handshake
    std::uint64_t links_refused = 0;         ///< incoming links refused (TLS, secret, timeout)
    std::uint64_t requests_handled = 0;      ///< requests from peers handed to a handler
    std::uint64_t links_closed_on_error = 0; ///< links this node closed for a protocol violation
    std::uint64_t frames_sent = 0;           ///< frames written to peers
    std::uint64_t writes = 0;                ///< writes to links (small frames waiting go out together)
};

/** The RPC transport of one node.

    Every link is TCP + TLS 1.3. Both sides present a self-signed certificate made from their
    Ed25519 node key, so the TLS handshake proves each side's node id. Then each side sends
    `HMAC-SHA256(rpc_secret, role ‖ exported keying material ‖ client id ‖ server id)`, bound
    to this very TLS session, and checks the other's in constant time: a node with another
    secret, or a stranger, is refused before any request is read. One connection per peer
    carries many concurrent requests, as frames tagged with a request id and a priority.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe; each connection runs on its own strand of
    the executor given to the constructor, and handlers run on that strand.
*/
class network {
public:
    /// The executor type.
    using executor_type = boost::asio::any_io_executor;

    /** Makes a transport; nothing listens or connects yet.
        @param ex         The executor on which connections and handlers run.
        @param key        This node's identity.
        @param rpc_secret The shared secret, raw bytes (see @ref parse_rpc_secret).
        @param options    Limits and timeouts. */
    network(executor_type ex, node_key key, std::string rpc_secret, network_options options = {});
    network(network const&) = delete;
    network& operator=(network const&) = delete;
    /// Calls `stop()`.
    ~network();

    /// @return The executor given to the constructor.
    executor_type get_executor() const noexcept;
    /// @return This node's id.
    util::node_id const& id() const noexcept;
    /// @return The options given to the constructor.
    network_options const& options() const noexcept;

    /** Starts accepting connections.
        @param bind The address to listen on (port 0: any free port).
        @return The bound address; `util::error::io_error` if it cannot listen. */
    util::result<boost::asio::ip::tcp::endpoint> listen(boost::asio::ip::tcp::endpoint const& bind);

    /** Opens an authenticated connection, unless one to `expected` is already up.
        @param address  Where the peer listens.
        @param expected The node id the peer must have; absent: any node that knows the secret.
        @return The peer's node id; `error::auth_failed`, `error::wrong_peer`,
                `error::handshake_failed`, `error::handshake_timeout` or an I/O error. */
    boost::asio::awaitable<util::result<util::node_id>> connect(boost::asio::ip::tcp::endpoint address,
                                                                std::optional<util::node_id> expected = {});

    /** Closes the connection to `peer`, if any; its pending calls fail with `connection_closed`.
        @param peer The node. */
    void disconnect(util::node_id const& peer);

    /// @param peer A node. @return True when an authenticated connection to `peer` is up.
    bool is_connected(util::node_id const& peer) const;
    /// @return The nodes with an authenticated connection up.
    std::vector<util::node_id> connected_peers() const;

    /** Registers the handler of `path`, replacing any previous one.
        @param path    The endpoint path, e.g. `"garage_net/peering.rs/Ping"`.
        @param handler The handler. */
    void add_handler(std::string path, raw_handler handler);
    /** Removes the handler of `path`: further requests get `error::no_such_endpoint`.
        @param path The endpoint path. */
    void remove_handler(std::string_view path);

    /** Sets the function told about every connection that goes up or down (called on the
        connection's strand; must not block).
        @param observer The function; empty to remove it. */
    void on_link_event(std::function<void(link_event const&)> observer);

    /** Sends a request to `peer` on the connection to it and awaits the response.

        A call to this node's own id runs the handler directly. Cancelling the awaiting
        coroutine (its cancellation slot) or reaching the timeout sends a cancel frame: the
        remote handler's cancellation slot fires.

        @param peer    The destination.
        @param path    The endpoint path.
        @param request The encoded request and its body.
        @param options Priority and timeout.
        @return The response; `error::not_connected`, `error::timeout`, `error::cancelled`,
                `error::connection_closed`, `error::no_such_endpoint`, `error::unknown_version`,
                or the failure returned by the remote handler.
    */
    boost::asio::awaitable<util::result<raw_message>> call(util::node_id peer, std::string path,
                                                           raw_message request, call_options options = {});

    /// @return The counters.
    network_stats stats() const;

    /** Stops listening and closes every connection; pending calls fail with `shutting_down`.
        Idempotent. Handlers still running are cancelled. */
    void stop();

    /// The shared state (connections, handlers); opaque, owned jointly with the running coroutines.
    struct state;

private:
    std::shared_ptr<state> state_;
};

} // namespace garage::rpc
