#pragma once
/** @file
    The error codes of the API front ends' common core (category `"garage.api"`): request
    authentication (SigV4), `aws-chunked` bodies and checksums.

    Each code maps to a generic @ref garage::util::condition (what status class it is) and to
    the S3 error code and HTTP status that AWS S3 answers with (@ref garage::api::s3_error_code,
    @ref garage::api::http_status), which the S3 handlers put in their XML error bodies.
*/

#include <garage/util/error.hpp>

#include <string_view>
#include <type_traits>

/** The API front ends (layer 10). This namespace holds their common core, independent of the
    HTTP library (Bazel target `//garage/api/common`): borrowed request views
    (@ref garage::api::request_view), `aws-chunked` bodies, checksums and the errors of
    @ref garage::api::error; SigV4 is in @ref garage::api::sigv4. The nested namespaces are
    the HTTP server (@ref garage::api::http), the S3 API (@ref garage::api::s3) and the admin
    API (@ref garage::api::admin).
*/
namespace garage::api {

/// The error codes of the `api` layer's common core (category `"garage.api"`).
enum class error {
    // --- authentication (SigV4)
    anonymous_access = 1,           ///< no signature at all (anonymous requests are not supported)
    unsupported_algorithm,          ///< an algorithm other than `AWS4-HMAC-SHA256`
    authorization_header_malformed, ///< the `Authorization` header is malformed, or its scope is wrong
    authorization_query_malformed,  ///< the presigned-URL query parameters are missing or malformed
    missing_security_header,        ///< `x-amz-date` or `x-amz-content-sha256` is missing
    unsigned_header,                ///< `host` or an `x-amz-*` header is not in SignedHeaders
    missing_signed_header,          ///< a header named in SignedHeaders is absent from the request
    invalid_date,                   ///< `x-amz-date` is not `YYYYMMDDTHHMMSSZ`
    request_time_too_skewed,        ///< the request date is too old (or too far in the future)
    expired_presigned,              ///< a presigned URL has expired
    invalid_expires,                ///< `X-Amz-Expires` is not a number or exceeds a week
    invalid_content_sha256,         ///< `x-amz-content-sha256` is neither a hash nor a known mode
    invalid_access_key_id,          ///< no such access key (raised by the caller's key lookup)
    signature_does_not_match,       ///< the request signature is wrong
    access_denied,                  ///< generic refusal
    conflicting_query_header,       ///< a presigned query parameter contradicts a signed header
    invalid_argument,               ///< another invalid request parameter
    // --- aws-chunked bodies
    chunk_format_error,       ///< a chunk header, chunk terminator or trailer line is malformed
    chunk_signature_mismatch, ///< a chunk or trailer signature is wrong
    incomplete_body,          ///< the body ended before the final chunk (or trailer)
    decoded_length_mismatch,  ///< the decoded payload length differs from `x-amz-decoded-content-length`
    missing_trailer,          ///< a `-TRAILER` body without the announced trailer
    invalid_content_encoding, ///< `Content-Encoding` of a streaming body does not name `aws-chunked`
    // --- checksums
    invalid_digest,             ///< a computed checksum differs from the one the client sent
    invalid_checksum_algorithm, ///< an unknown checksum algorithm name
    invalid_checksum_value,     ///< a checksum header that is not base64 of the right length
    multiple_checksums,         ///< more than one `x-amz-checksum-*` header
};

/** The error category of @ref garage::api::error.
    @return The category (a singleton), named `"garage.api"`; its `default_error_condition`
    maps each code to a @ref garage::util::condition. */
boost::system::error_category const& api_category() noexcept;

/** Makes an error code of the `api` layer (found by ADL, so that `util::failure{error::x, ...}`
    and comparisons with @ref garage::api::error values work).
    @param e The error.
    @return `e` in @ref api_category. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), api_category()};
}

/** The S3 error code AWS answers with for an error of this layer.

    Where AWS and Garage differ, AWS's code is given (Garage answers `AccessDenied` or
    `InvalidRequest` for most of these); the S3 handlers may choose otherwise.
    @param e The error.
    @return The S3 code, e.g. `"SignatureDoesNotMatch"`, `"AccessDenied"`, `"InvalidDigest"`.
*/
std::string_view s3_error_code(error e) noexcept;

/** The HTTP status that goes with the S3 code of @ref garage::api::s3_error_code.
    @param e The error.
    @return 403 for authentication and signature failures (`AccessDenied`,
    `RequestTimeTooSkewed`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`), 400 otherwise.
*/
unsigned http_status(error e) noexcept;

} // namespace garage::api

namespace boost::system {
template <>
struct is_error_code_enum<garage::api::error> : std::true_type {
};
} // namespace boost::system
