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

namespace garage::api::http {

namespace net = boost::asio;
namespace beast_http = boost::beast::http;

/// The request line and headers of a request (its body is read from the @ref exchange).
using request_header = beast_http::request_header<>;
/// A response head, for streamed responses.
using response_header = beast_http::response_header<>;
/// A complete response with an in-memory body.
using string_response = beast_http::response<beast_http::string_body>;

/** One request and its response, as seen by a handler.

    The handler reads the request body with @ref read_some (or @ref read_all), then answers
    either at once with @ref respond, or in a stream: @ref write_header, then @ref write_body
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

    /// The request line and headers.
    virtual request_header const& request() const noexcept = 0;
    /// A per-request id for logs and error bodies (hex).
    virtual std::string const& request_id() const noexcept = 0;
    /// The peer's address, as text (`ip:port`, or the socket path).
    virtual std::string const& remote() const noexcept = 0;

    /** Reads up to `buf.size()` bytes of the request body.
        @return The number of bytes read; 0 at the end of the body; an error if the client
                sent a malformed body or went away. */
    virtual net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) = 0;

    /** Reads the whole remaining body, failing with `error::body_too_large` past `limit`. */
    net::awaitable<util::result<std::string>> read_all(std::size_t limit);

    /// Sends a complete response (its `Content-Length` is set from the body).
    virtual net::awaitable<util::result<void>> respond(string_response response) = 0;
    /// Starts a streamed response.
    virtual net::awaitable<util::result<void>> write_header(response_header header) = 0;
    /// Sends part of a streamed response's body.
    virtual net::awaitable<util::result<void>> write_body(std::string_view data, bool last) = 0;
    /// Whether a response (or its header) was sent.
    virtual bool response_started() const noexcept = 0;
    /// Bytes of response body sent so far.
    virtual std::uint64_t body_bytes_sent() const noexcept = 0;
};

/// A request handler: a coroutine that answers one exchange.
using handler = std::function<net::awaitable<void>(exchange&)>;

/// Where a server listens: a TCP endpoint (`host:port` parsed by the caller) or a Unix socket.
struct tcp_address {
    std::string host; ///< an IP address literal (`::`, `0.0.0.0`, `127.0.0.1`, ...)
    std::uint16_t port = 0;
};
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
boost::system::error_category const& http_category() noexcept;
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
    that was not stopped stops it.

    @par Thread Safety
    `listen`, `start` and `stop` from one thread; connections run on the executor (which may
    be run by several threads: each connection is its own strand).
*/
class server {
public:
    server(net::any_io_executor ex, handler h, server_options options = {});
    server(server const&) = delete;
    server& operator=(server const&) = delete;
    ~server();

    /// Binds and listens. @return `error::listen_failed` with the address and reason.
    util::result<void> listen(listen_address const& address);
    /// The bound TCP port (useful after listening on port 0); 0 for a Unix socket.
    std::uint16_t port() const noexcept;
    /// Starts accepting connections.
    void start();
    /** Stops accepting, closes idle connections, and lets requests in flight finish within the
        drain timeout. @p done is called (on the executor) once every connection has ended. */
    void stop(std::function<void()> done = {});
    /// Number of open connections.
    std::size_t connections() const noexcept;

    struct impl; ///< implementation (server.cpp)

private:
    std::shared_ptr<impl> impl_;
};

} // namespace garage::api::http

template <>
struct boost::system::is_error_code_enum<garage::api::http::error> : std::true_type {
};
