#pragma once
/** @file
    S3 errors: codes, HTTP statuses and the XML error body.
*/

#include <garage/util/error.hpp>

#include <string>
#include <string_view>

namespace garage::api::s3 {

/** An S3 error as sent to a client: `<Error><Code>…</Code><Message>…</Message>…</Error>`.

    The code and status follow S3 (GARAGE-REFERENCE §1.18); the message says what failed in
    words a user can act on.
*/
struct s3_error {
    std::string code;    ///< S3 error code, e.g. `NoSuchKey`
    unsigned status = 0; ///< HTTP status, e.g. 404
    std::string message; ///< human-readable message

    static s3_error access_denied(std::string msg) { return {"AccessDenied", 403, std::move(msg)}; }
    static s3_error invalid_request(std::string msg) { return {"InvalidRequest", 400, std::move(msg)}; }
    static s3_error invalid_argument(std::string msg) { return {"InvalidArgument", 400, std::move(msg)}; }
    static s3_error no_such_bucket(std::string_view bucket)
    {
        return {"NoSuchBucket", 404, "Bucket not found: " + std::string(bucket)};
    }
    static s3_error no_such_key() { return {"NoSuchKey", 404, "Key not found"}; }
    static s3_error no_such_upload() { return {"NoSuchUpload", 404, "Upload not found"}; }
    static s3_error not_implemented(std::string_view what)
    {
        return {"NotImplemented", 501, "Not implemented: " + std::string(what)};
    }
    static s3_error malformed_xml(std::string msg) { return {"MalformedXML", 400, std::move(msg)}; }
    static s3_error internal(std::string msg) { return {"InternalError", 500, std::move(msg)}; }
};

/** Maps any layer's failure to an S3 error through its generic condition: bad request → 400
    `InvalidRequest`, not found → 404, quorum or unavailable → 503 `ServiceUnavailable`, corrupt
    data and internal errors → 500 `InternalError`, and so on. */
s3_error to_s3_error(util::failure const& f);

/** The XML body of an error response.
    @param resource   The request path.
    @param region     The configured `s3_region`.
    @param request_id The request's id. */
std::string error_xml(s3_error const& e, std::string_view resource, std::string_view region,
                      std::string_view request_id);

} // namespace garage::api::s3
