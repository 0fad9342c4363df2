#pragma once
/** @file
    K2V errors: codes, HTTP statuses and the JSON error body Garage's K2V API answers with
    (`{"code", "message", "path", "region"}`, `Content-Type: application/json`).
*/

#include <garage/util/error.hpp>

#include <string>
#include <string_view>

/** The K2V API (reference §4): the router (@ref garage::api::k2v::route_request), its errors,
    its JSON bodies, and `k2v_api_server`, which answers K2V requests over the model's
    K2V tables. Bazel target `//garage/api/k2v`.
*/
namespace garage::api::k2v {

/** A K2V error as sent to a client. Codes follow Garage: the common S3-style codes
    (`AccessDenied`, `InvalidRequest`, `NoSuchBucket`, `InternalError`, ...) and K2V's own
    (`NoSuchKey`, `NotAcceptable`, `CausalityToken`, `InvalidBase64`, `InvalidUtf8String`). */
struct k2v_error {
    std::string code;    ///< the error code, e.g. `CausalityToken`
    unsigned status = 0; ///< the HTTP status, e.g. 400
    std::string message; ///< what went wrong

    /// 400 `InvalidRequest` ("Bad request: ..."). @param msg What is wrong. @return The error.
    static k2v_error bad_request(std::string_view msg)
    {
        return {"InvalidRequest", 400, "Bad request: " + std::string(msg)};
    }
    /// 403 `AccessDenied` ("Forbidden: ..."). @param msg Why. @return The error.
    static k2v_error forbidden(std::string_view msg)
    {
        return {"AccessDenied", 403, "Forbidden: " + std::string(msg)};
    }
    /// 404 `NoSuchBucket`. @param bucket Its name. @return The error.
    static k2v_error no_such_bucket(std::string_view bucket)
    {
        return {"NoSuchBucket", 404, "Bucket not found: " + std::string(bucket)};
    }
    /// 404 `NoSuchKey` ("Key not found"). @return The error.
    static k2v_error no_such_key() { return {"NoSuchKey", 404, "Key not found"}; }
    /// 400 `CausalityToken` ("Invalid causality token"). @return The error.
    static k2v_error invalid_causality_token() { return {"CausalityToken", 400, "Invalid causality token"}; }
    /// 406 `NotAcceptable`. @param msg Why. @return The error.
    static k2v_error not_acceptable(std::string_view msg)
    {
        return {"NotAcceptable", 406, "Not acceptable: " + std::string(msg)};
    }
    /// 400 `InvalidBase64`. @param msg What. @return The error.
    static k2v_error invalid_base64(std::string_view msg)
    {
        return {"InvalidBase64", 400, "Invalid base64: " + std::string(msg)};
    }
    /// 500 `InternalError`. @param msg What. @return The error.
    static k2v_error internal(std::string_view msg)
    {
        return {"InternalError", 500, "Internal error: " + std::string(msg)};
    }
};

/** Maps any layer's failure to a K2V error, as the S3 API maps it (bad request → 400
    `InvalidRequest`, forbidden → 403 `AccessDenied`, ...; SigV4 errors keep their S3 code
    and status).
    @param f The failure. @return The error. */
k2v_error to_k2v_error(util::failure const& f);

/** The JSON body of an error response.
    @param e The error. @param path The request path. @param region The `s3_region`.
    @return `{"code":…,"message":…,"path":…,"region":…}`. */
std::string error_json(k2v_error const& e, std::string_view path, std::string_view region);

} // namespace garage::api::k2v
