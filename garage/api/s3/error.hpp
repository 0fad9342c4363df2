#pragma once
/** @file
    S3 errors: codes, HTTP statuses and the XML error body.
*/

#include <garage/util/error.hpp>

#include <string>
#include <string_view>

/** The S3 API: the router (@ref garage::api::s3::route_request), S3 errors and their XML
    bodies (@ref garage::api::s3::s3_error), XML helpers, and the server answering S3 requests
    over the data model (`s3_api_server`, in `garage/api/s3/api_server.hpp`). Bazel target
    `//garage/api/s3`.
*/
namespace garage::api::s3 {

/** An S3 error as sent to a client: `<Error><Code>…</Code><Message>…</Message>…</Error>`.

    The code and status follow S3 (GARAGE-REFERENCE §1.18); the message says what failed in
    words a user can act on.
*/
struct s3_error {
    std::string code;    ///< S3 error code, e.g. `NoSuchKey`
    unsigned status = 0; ///< HTTP status, e.g. 404
    std::string message; ///< human-readable message

    /// An `AccessDenied` error (403). @param msg The message. @return The error.
    static s3_error access_denied(std::string msg) { return {"AccessDenied", 403, std::move(msg)}; }
    /// An `InvalidRequest` error (400). @param msg The message. @return The error.
    static s3_error invalid_request(std::string msg) { return {"InvalidRequest", 400, std::move(msg)}; }
    /// An `InvalidArgument` error (400). @param msg The message. @return The error.
    static s3_error invalid_argument(std::string msg) { return {"InvalidArgument", 400, std::move(msg)}; }
    /// A `NoSuchBucket` error (404). @param bucket The bucket, named in the message. @return The error.
    static s3_error no_such_bucket(std::string_view bucket)
    {
        return {"NoSuchBucket", 404, "Bucket not found: " + std::string(bucket)};
    }
    /// A `NoSuchKey` error (404, "Key not found"). @return The error.
    static s3_error no_such_key() { return {"NoSuchKey", 404, "Key not found"}; }
    /// A `NoSuchUpload` error (404, "Upload not found"). @return The error.
    static s3_error no_such_upload() { return {"NoSuchUpload", 404, "Upload not found"}; }
    /// A `NotImplemented` error (501). @param what The feature, named in the message. @return The error.
    static s3_error not_implemented(std::string_view what)
    {
        return {"NotImplemented", 501, "Not implemented: " + std::string(what)};
    }
    /// A `MalformedXML` error (400). @param msg The message. @return The error.
    static s3_error malformed_xml(std::string msg) { return {"MalformedXML", 400, std::move(msg)}; }
    /// An `InternalError` error (500). @param msg The message. @return The error.
    static s3_error internal(std::string msg) { return {"InternalError", 500, std::move(msg)}; }
};

/** Maps any layer's failure to an S3 error through its generic condition: bad request → 400
    `InvalidRequest`, forbidden → 403 `AccessDenied`, not found → 404 `NoSuchKey`, conflict →
    409 `OperationAborted`, precondition failed → 412 `PreconditionFailed`, quorum or
    unavailable → 503 `ServiceUnavailable`, anything else (corrupt data, internal errors) →
    500 `InternalError`.
    @param f The failure.
    @return The S3 error, its message built from `f.message`. */
s3_error to_s3_error(util::failure const& f);

/** The XML body of an error response:
    `<Error><Code/><Message/><Resource/><Region/><RequestId/></Error>`, without the S3 namespace.
    @param e          The error (code and message).
    @param resource   The request path.
    @param region     The configured `s3_region`.
    @param request_id The request's id.
    @return The document, with its XML declaration. */
std::string error_xml(s3_error const& e, std::string_view resource, std::string_view region,
                      std::string_view request_id);

} // namespace garage::api::s3
