#pragma once
/** @file
    The HTTP/1.1 server under the S3, K2V, admin and web endpoints: Boost.Beast on Asio C++20
    coroutines, with streaming bodies in both directions.
*/

#include <garage/util/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

/** The HTTP layer under the APIs: @ref garage::api::http::server, an HTTP/1.1 server on
    Boost.Beast and Asio coroutines that hands each request to a handler as an
    @ref garage::api::http::exchange. Bazel target `//garage/api/http`.
*/
namespace garage::api::http {

namespace net = boost::asio;
namespace beast_http = boost::beast::http;

/// The request line and headers of a request (its body is read from the
/// @ref garage::api::http::exchange).
using request_header = beast_http::request_header<>;
/// A response head, for streamed responses.
using response_header = beast_http::response_header<>;
/// A complete response with an in-memory body.
using string_response = beast_http::response<beast_http::string_body>;

/** One request and its response, as seen by a handler.

    The handler reads the request body with `read_some` (or `read_all`), then answers
    either at once with `respond`, or in a stream: `write_header`, then `write_body`
    any number of times, the last call with `last = true`. The body must have a length
    (`Content-Length` set on the header) or the header must ask for chunked encoding.

    A handler that returns without a complete response gets a `500` (or, if its response had
    started, a closed connection: the client sees a truncated body, never a wrong one).

    @par Thread Safety
    Used by one coroutine at a time.
*/
class exchange {
public:
    virtual ~exchange() = default;

    /// @return The request line and headers.
    virtual request_header const& request() const noexcept = 0;
    /// @return A per-request id for logs and error bodies (hex).
    virtual std::string const& request_id() const noexcept = 0;
    /// @return The peer's address, as text (`ip:port`, or the socket path).
    virtual std::string const& remote() const noexcept = 0;

    /** Reads up to `buf.size()` bytes of the request body.
        @param buf Where the bytes go.
        @return The number of bytes read; 0 at the end of the body; an error if the client
                sent a malformed body or went away. */
    virtual net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) = 0;

    /** Reads the whole remaining body (with `read_some`).
        @param limit The most bytes accepted.
        @return The body; `error::body_too_large` past `limit`; the errors of `read_some`. */
    net::awaitable<util::result<std::string>> read_all(std::size_t limit);

    /** Sends a complete response (its `Content-Length` is set from the body).
        @param response The status, headers and body.
        @return Success; `error::response_state` if a response was already started;
                `error::connection_closed` if the client went away. */
    virtual net::awaitable<util::result<void>> respond(string_response response) = 0;
    /** Starts a streamed response.
        @param header The status and headers, with `Content-Length` or chunked encoding.
        @return Success; `error::response_state` if a response was already started;
                `error::connection_closed` if the client went away. */
    virtual net::awaitable<util::result<void>> write_header(response_header header) = 0;
    /** Sends part of a streamed response's body. For a `HEAD` request, or a `204` or `304`
        response, there is no body: the header completes the response and calls succeed
        without sending anything.
        @param data The next bytes of the body.
        @param last True for the last part (which may be empty).
        @return Success; `error::response_state` before `write_header` or after the last
                part; `error::connection_closed` if the client went away. */
    virtual net::awaitable<util::result<void>> write_body(std::string_view data, bool last) = 0;
    /// @return Whether a response (or its header) was sent.
    virtual bool response_started() const noexcept = 0;
    /// @return The number of bytes of response body sent so far.
    virtual std::uint64_t body_bytes_sent() const noexcept = 0;
};

/// A request handler: a coroutine that answers one exchange.
using handler = std::function<net::awaitable<void>(exchange&)>;

/// Where a server listens: a TCP endpoint (`host:port` parsed by the caller) or a Unix socket.
struct tcp_address {
    std::string host;       ///< an IP address literal (`::`, `0.0.0.0`, `127.0.0.1`, ...)
    std::uint16_t port = 0; ///< the TCP port; 0 picks a free one (see `server::port`)
};
/// Where a server listens: a TCP address, or the path of a Unix socket (a stale one is replaced).
using listen_address = std::variant<tcp_address, std::filesystem::path>;

/// Limits and timeouts of a server.
struct server_options {
    /// Largest request line plus headers, in bytes (larger: `431`, then the connection closes).
    std::size_t header_limit = 16 * 1024;
    /// How long an idle keep-alive connection, or a stalled read or write, may last.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
    /// How long `stop` lets requests in flight finish (Garage drains for 10 s).
    std::chrono::milliseconds drain_timeout = std::chrono::seconds(10);
    /// The `Server` header of responses.
    std::string server_name = "garage";
};

/// Errors of the HTTP layer (category `"garage.http"`).
enum class error {
    body_too_large = 1, ///< a body exceeds the limit its reader set
    bad_request,        ///< the request could not be parsed
    connection_closed,  ///< the peer went away
    response_state,     ///< a response call out of order (e.g. a body before its header)
    listen_failed,      ///< the address could not be bound
};
/** The category of the HTTP errors.
    @return The one category named `"garage.http"`; it maps each @ref garage::api::http::error
            to a generic `util::condition`. */
boost::system::error_category const& http_category() noexcept;
/** Makes an error code of the HTTP layer (found by ADL, so that an
    @ref garage::api::http::error converts to `util::error_code`).
    @param e The error.
    @return The code `e` in @ref garage::api::http::http_category. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), http_category()};
}

/** An HTTP/1.1 server: accepts connections on one address and runs `handler` for each
    request, with keep-alive and pipelined requests answered in order.

    @par Lifecycle
    `listen()` binds (and reports a bind failure as a value); `start()` begins accepting on
    the executor; `stop()` stops accepting, closes idle connections and gives requests in
    flight `drain_timeout` to finish before closing their connections. Destroying a server
    closes its listening socket and every open connection at once, without draining.

    @par Thread Safety
    `listen`, `start` and `stop` from one thread; connections run on the executor (which may
    be run by several threads: each connection is its own strand).
*/
class server {
public:
    /** A server that is not yet listening.
        @param ex      Where connections run (and `stop`'s callback is called).
        @param h       The handler of every request.
        @param options Limits and timeouts. */
    server(net::any_io_executor ex, handler h, server_options options = {});
    server(server const&) = delete;
    server& operator=(server const&) = delete;
    /// Closes the listening socket and every open connection (see `stop` to drain first).
    ~server();

    /** Binds and listens (an IPv6 address also accepts IPv4 where the system allows it).
        @param address A TCP address or a Unix socket path.
        @return Success; `error::listen_failed` with the address and reason. */
    util::result<void> listen(listen_address const& address);
    /// @return The bound TCP port (useful after listening on port 0); 0 for a Unix socket.
    std::uint16_t port() const noexcept;
    /// Starts accepting connections.
    void start();
    /** Stops accepting, closes idle connections, and lets requests in flight finish within the
        drain timeout.
        @param done Called (on the executor) once every connection has ended; may be empty. */
    void stop(std::function<void()> done = {});
    /// @return The number of open connections.
    std::size_t connections() const noexcept;

    struct impl; ///< implementation (server.cpp)

private:
    std::shared_ptr<impl> impl_;
};

} // namespace garage::api::http

template <>
struct boost::system::is_error_code_enum<garage::api::http::error> : std::true_type {
};
