#pragma once
/** @file
    Typed endpoints: a path string plus a request and a response type, both cereal messages
    with class versions; @ref garage::rpc::call sends one, @ref garage::rpc::serve answers them.

    A thin template layer over garage::rpc::network; encoding and version checks are
    here, everything else (TLS, framing, priorities) is compiled once in network.cpp.

    @par Example
    @code
    struct ping { std::uint64_t sent_msec = 0;
                  template <class A> void serialize(A& ar, std::uint32_t) { ar(sent_msec); } };
    struct pong { std::uint64_t sent_msec = 0;
                  template <class A> void serialize(A& ar, std::uint32_t) { ar(sent_msec); } };
    struct ping_endpoint {
        static constexpr std::string_view path = "garage_net/peering.rs/Ping";
        using request_type = ping;
        using response_type = pong;
    };
    rpc::serve<ping_endpoint>(net, [](util::node_id, ping p) -> net::awaitable<util::result<pong>> {
        co_return pong{p.sent_msec};
    });
    auto r = co_await rpc::call<ping_endpoint>(net, peer, ping{util::now_msec()}, {rpc::priority::high});
    @endcode
*/

#include <garage/rpc/error.hpp>
#include <garage/rpc/message.hpp>
#include <garage/rpc/network.hpp>
#include <garage/util/codec.hpp>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace garage::rpc {

/** A type that can travel as an RPC message: default-constructible, movable, and saved and
    loaded by cereal's portable binary archives. Its class version is
    `CEREAL_CLASS_VERSION(T, n)` (0 when not declared); a receiver refuses a message whose
    version is newer than the one it was built with (`error::unknown_version`).
*/
template <class M>
concept rpc_message = std::default_initializable<M> && std::movable<M> &&
    cereal::traits::is_output_serializable<M, cereal::PortableBinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<M, cereal::PortableBinaryInputArchive>::value;

/** The class version this build writes for `M` (cereal's `CEREAL_CLASS_VERSION`, else 0).
    @tparam M An `rpc_message`.
    @return The version. */
template <rpc_message M>
std::uint32_t message_version() noexcept
{
    return cereal::detail::Version<M>::version;
}

/** An endpoint: a static path string naming it on every node, and its message types.

    | expression             | type / requirement                                    |
    |------------------------|-------------------------------------------------------|
    | `E::path`              | convertible to `std::string_view`, at most 255 bytes  |
    | `E::request_type`      | models `rpc_message`                               |
    | `E::response_type`     | models `rpc_message`                               |
*/
template <class E>
concept endpoint = requires
{
    {
        E::path
        } -> std::convertible_to<std::string_view>;
    typename E::request_type;
    typename E::response_type;
}
&&rpc_message<typename E::request_type>&& rpc_message<typename E::response_type>;

/** A message with an attached byte stream (a data block) sent after it.
    @tparam M The message type. */
template <class M>
struct with_body {
    M message;        ///< the typed message
    std::string body; ///< the attached bytes
};

/** A handler of endpoint `E` without bodies:
    `h(util::node_id from, request_type req) -> awaitable<util::result<response_type>>`. */
template <class H, class E>
concept plain_handler_for =
    endpoint<E> && std::is_invocable_r_v<boost::asio::awaitable<util::result<typename E::response_type>>, H&,
                                         util::node_id, typename E::request_type>;

/** A handler of endpoint `E` with bodies: `h(util::node_id from, with_body<request_type> req)
    -> awaitable<util::result<with_body<response_type>>>`. */
template <class H, class E>
concept body_handler_for = endpoint<E> &&
    std::is_invocable_r_v<boost::asio::awaitable<util::result<with_body<typename E::response_type>>>, H&,
                          util::node_id, with_body<typename E::request_type>>;

/** Calls endpoint `E` on `peer`.
    @tparam E       Models `endpoint`.
    @param  net     The transport.
    @param  peer    The destination (this node's own id runs the local handler).
    @param  request The request.
    @param  options Priority and timeout.
    @return The response, or the failure of the transport or of the remote handler. */
template <endpoint E>
boost::asio::awaitable<util::result<typename E::response_type>>
call(network& net, util::node_id peer, typename E::request_type request, call_options options = {});

/** Calls endpoint `E` on `peer` with a body attached to the request; returns the response's body too.
    @tparam E       Models `endpoint`.
    @param  net     The transport.
    @param  peer    The destination.
    @param  request The request and its body.
    @param  options Priority and timeout.
    @return The response and its body, or a failure. */
template <endpoint E>
boost::asio::awaitable<util::result<with_body<typename E::response_type>>>
call_with_body(network& net, util::node_id peer, with_body<typename E::request_type> request,
               call_options options = {});

/** Registers the handler of endpoint `E` on `net` (replacing any previous one).

    A request that cannot be decoded, or whose class version is newer than this build knows,
    gets an error response (`error::decode_error`, `error::unknown_version`); the
    connection stays up.

    @tparam E       Models `endpoint`.
    @tparam Handler Models `plain_handler_for` or `body_handler_for` `E`; copied into
                    the network, so it must not dangle (capture pointers to long-lived services).
    @param  net     The transport.
    @param  handler The handler. */
template <endpoint E, class Handler>
requires plain_handler_for<Handler, E> || body_handler_for<Handler, E>
void serve(network& net, Handler handler);

} // namespace garage::rpc

#include <garage/rpc/impl/endpoint.hpp>
