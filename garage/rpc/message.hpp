#pragma once
/** @file
    What travels on a link, below the typed endpoints: priorities, call options, and the raw
    (already encoded) message with its optional attached body.
*/

#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace garage::rpc {

/** The priority of a request and of its response: lower values are sent first.

    When several messages wait on one connection, the frames of the lowest value go first;
    messages of equal priority share the link chunk by chunk (round robin), so a large body
    never delays a high-priority ping by more than one chunk. `| secondary` (Garage's
    `PRIO_SECONDARY`) ranks block data just behind the metadata of the same class.
*/
enum class priority : std::uint8_t {
    high = 0x20,       ///< pings, layout: Garage's `PRIO_HIGH`
    normal = 0x40,     ///< interactive metadata: `PRIO_NORMAL`
    background = 0x80, ///< sync, resync: `PRIO_BACKGROUND`
    secondary = 0x01,  ///< flag: data behind metadata of the same class
};

/** Combines a class with the `secondary` flag.
    @param a A priority class. @param b Usually `priority::secondary`.
    @return The bitwise or. */
constexpr priority operator|(priority a, priority b) noexcept
{
    return static_cast<priority>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}

/// How to send one call.
struct call_options {
    /// The priority of the request and of its response.
    rpc::priority priority = rpc::priority::normal;
    /// Give up (and cancel the remote handler) after this long; absent: the network's default.
    std::optional<std::chrono::milliseconds> timeout;
};

/** An encoded message: the cereal bytes of the typed message, the class version they were
    written with, and an optional attached body (a block's bytes) sent after the message.

    The body is cut into chunks on the wire like the message itself, so a large body
    interleaves with other traffic by priority.
*/
struct raw_message {
    std::uint32_t version = 0; ///< the class version of the encoded message type
    std::string message;       ///< the encoded message (util::encode)
    std::string body;          ///< the attached byte stream (may be empty)
};

/** A handler for one endpoint path: gets the caller's node id and the request; returns the
    response or a failure (sent back to the caller as an error response).

    For a request from a peer the coroutine runs on the connection's strand, and when the
    caller cancels or times out, its cancellation slot receives `terminal` cancellation. A
    call to this node's own id runs the handler directly in the caller's coroutine.
*/
using raw_handler =
    std::function<boost::asio::awaitable<util::result<raw_message>>(util::node_id, raw_message)>;

} // namespace garage::rpc
