#pragma once
/** @file
    Errors of the rpc layer (category `"garage.rpc"`).
*/

#include <garage/util/error.hpp>

/** The `rpc` layer: node identity, authenticated encrypted links between nodes, framing,
    multiplexing and priorities, typed endpoints and quorum helpers. Bazel target `//garage/rpc`.
*/
namespace garage::rpc {

/// The error codes of the `rpc` layer.
enum class error {
    handshake_failed = 1, ///< the TLS handshake failed (a stranger, garbage, or a TLS error)
    handshake_timeout,    ///< the peer did not complete the handshake in time
    auth_failed,          ///< the peer does not know our `rpc_secret`
    version_mismatch,     ///< the peer speaks another version of the protocol
    wrong_peer,           ///< the peer's node id is not the one expected
    frame_too_large,      ///< a frame exceeds the frame size limit (the connection is closed)
    message_too_large,    ///< a message exceeds the message size limit (the connection is closed)
    protocol_error,       ///< the peer sent bytes that do not follow the protocol
    connection_closed,    ///< the connection was closed before the answer arrived
    not_connected,        ///< there is no connection to that node
    timeout,              ///< the call did not complete in time
    cancelled,            ///< the call was cancelled
    no_such_endpoint,     ///< the peer has no handler for that path
    unknown_version,      ///< the message's class version is newer than the receiver knows
    decode_error,         ///< a message could not be decoded
    remote_error,         ///< the handler failed with an error this node cannot name
    handler_failed,       ///< the handler threw an exception
    quorum_not_reached,   ///< too few nodes answered successfully
    shutting_down,        ///< the node is stopping
};

/** The category of the rpc errors.
    @return The one category named `"garage.rpc"`. */
boost::system::error_category const& rpc_category() noexcept;

/** Makes an error code of the `rpc` layer (found by ADL).
    @param e An rpc error.
    @return The code, in `rpc_category()`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), rpc_category()};
}

} // namespace garage::rpc

namespace boost::system {
template <>
struct is_error_code_enum<garage::rpc::error> : std::true_type {
};
} // namespace boost::system
