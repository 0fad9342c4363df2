#pragma once
/** @file
    One structured log line per HTTP request (method, path, status, bytes in and out,
    duration, request id), with no secrets, and a hook for metrics: a handler wrapper,
    @ref garage::api::http::with_request_log.
*/

#include <garage/api/http/server.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace garage::api::http {

/** What is known of a request once it has been answered. */
struct request_record {
    std::string_view api;                 ///< the API's name, as given in @ref request_log_options
    std::string method;                   ///< e.g. `GET`
    std::string target;                   ///< the request target with secrets redacted (@ref redact_target)
    unsigned status = 0;                  ///< the status sent; 500 if the handler sent nothing
    std::uint64_t bytes_in = 0;           ///< request body bytes read by the handler
    std::uint64_t bytes_out = 0;          ///< response body bytes sent
    std::chrono::nanoseconds duration{0}; ///< from the handler's start to its end
    std::string request_id;               ///< the server's id of the request (S3's `x-amz-request-id`)
    std::string remote;                   ///< the peer's address
};

/** Called once per request, after the handler, with the request's header and its record
    (for metrics). It must not throw. */
using request_observer = std::function<void(request_header const&, request_record const&)>;

/** How @ref with_request_log logs. */
struct request_log_options {
    /// The API's name, first field of the line (`s3`, `admin`, `k2v`, `web`).
    std::string api;
    /// Where lines go; null: spdlog's default logger. Lines are `info` (`warn` for 5xx).
    std::shared_ptr<spdlog::logger> logger;
    /// Called after each request (metrics); may be empty.
    request_observer observer;
};

/** Wraps a handler so that every request it answers is logged as one line
    (@ref format_request_line) and reported to the observer. The handler sees an exchange that
    forwards to the server's and counts bytes and the status; an exception from the handler is
    logged with status 500 and rethrown (the server then answers as it would have).

    @param inner   The handler.
    @param options The API's name, the logger, the observer.
    @return The wrapping handler.

    @par Thread Safety
    The returned handler may run concurrently on several connections (as `inner` may); the
    observer must be thread-safe.
*/
handler with_request_log(handler inner, request_log_options options);

/** The request target with every secret removed: the values of the query parameters of presigned
    URLs and SSE-C (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, `Signature`,
    `AWSAccessKeyId`, `X-Amz-Server-Side-Encryption-Customer-Key*`, `token`, ...) become `REDACTED`,
    compared case-insensitively and after percent-decoding the name.
    @param target The raw request target (path and query).
    @return The target, safe to log. */
std::string redact_target(std::string_view target);

/** Formats a record as one `key=value` log line:
    `api=s3 method=PUT path="/b/k" status=200 bytes_in=5 bytes_out=0 duration_ms=1.250 request_id=… remote=…`.
    Quoted values have `"`, `\` and control characters escaped, so a request cannot forge lines.
    @param r The record.
    @return The line, without a newline. */
std::string format_request_line(request_record const& r);

} // namespace garage::api::http
