#pragma once
/** @file
    The S3 router: from method, host, path and query to an endpoint with its arguments.
*/

#include <garage/util/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api::s3 {

/** Every S3 endpoint the router recognises, implemented or not.

    Endpoints Garage does not implement are still recognised (so that they answer
    `501 NotImplemented` rather than being mistaken for a plain GetObject or PutObject).
*/
enum class endpoint {
    // service
    list_buckets,
    options,
    // bucket
    create_bucket,
    delete_bucket,
    head_bucket,
    get_bucket_location,
    get_bucket_versioning,
    put_bucket_versioning,
    get_bucket_acl,
    put_bucket_acl,
    get_bucket_cors,
    put_bucket_cors,
    delete_bucket_cors,
    get_bucket_website,
    put_bucket_website,
    delete_bucket_website,
    get_bucket_lifecycle,
    put_bucket_lifecycle,
    delete_bucket_lifecycle,
    list_objects,
    list_objects_v2,
    list_object_versions,
    list_multipart_uploads,
    delete_objects,
    post_object,
    // object
    get_object,
    head_object,
    put_object,
    copy_object,
    delete_object,
    create_multipart_upload,
    upload_part,
    upload_part_copy,
    complete_multipart_upload,
    abort_multipart_upload,
    list_parts,
    // recognised, not implemented
    not_implemented,
};

/** The endpoint's name as in the AWS API reference (for logs, metrics and `x-id`).
    @param e The endpoint.
    @return E.g. `"ListObjectsV2"`, `"PutObject"`. */
std::string_view name(endpoint e) noexcept;

/// What the request asks for: the endpoint and the arguments taken from its URL.
struct route {
    /// The endpoint; `not_implemented` for a recognised endpoint that is not supported.
    endpoint ep = endpoint::not_implemented;
    /// The S3 name of an endpoint answered with 501, e.g. `PutBucketPolicy`.
    std::string unsupported;
    /// The bucket name as written in the request (path or host); empty for service endpoints.
    std::string bucket;
    /// The object key, percent-decoded; empty for bucket endpoints.
    std::string key;
    /// Whether the bucket came from the Host header (virtual-hosted style).
    bool vhost = false;
    /// Query parameters, percent-decoded (sub-resource keywords map to empty strings).
    std::map<std::string, std::string, std::less<>> query;

    /** Looks up a query parameter.
        @param name The decoded parameter name (case-sensitive).
        @return Its decoded value (empty for a bare keyword such as `uploads`), or `nullopt`
        if absent. */
    std::optional<std::string_view> param(std::string_view name) const
    {
        auto it = query.find(name);
        if (it == query.end()) {
            return std::nullopt;
        }
        return std::string_view(it->second);
    }
};

/// Errors of the router (category `"garage.s3.router"`).
enum class route_error {
    unknown_method = 1,    ///< not GET, HEAD, PUT, POST, DELETE or OPTIONS
    missing_host,          ///< no Host header while virtual-hosted style is configured
    bad_encoding,          ///< malformed percent-encoding or invalid UTF-8
    duplicate_query_param, ///< a query parameter given twice
    invalid_endpoint,      ///< e.g. `list-type=3`
};
/// @return The error category of @ref route_error (a singleton), named `"garage.s3.router"`.
boost::system::error_category const& route_category() noexcept;
/** Makes an error code of the router (found by ADL).
    @param e The error.
    @return `e` in @ref route_category. */
inline util::error_code make_error_code(route_error e) noexcept
{
    return {static_cast<int>(e), route_category()};
}

/** Finds the endpoint of a request (Garage's `Endpoint::from_request`).

    @param method      The HTTP method (`GET`, ...).
    @param host        The Host header (may be empty when `root_domain` is not set).
    @param target      The request target: raw path and query, e.g. `/bucket/a%20key?uploads`.
    @param root_domain The `[s3_api] root_domain` for virtual-hosted style (empty: path style only).
    @param has_copy_source Whether the request has an `x-amz-copy-source` header.
    @return The route; or `route_error::unknown_method`, `missing_host`, `bad_encoding`,
    `duplicate_query_param` or `invalid_endpoint`.
*/
util::result<route> route_request(std::string_view method, std::string_view host, std::string_view target,
                                  std::string_view root_domain, bool has_copy_source);

/** The bucket named by a Host header under `root_domain` (Garage's `host_to_bucket`): the
    labels left of the root domain. The port is stripped and the comparison is
    case-insensitive.
    @param host        The Host header, e.g. `photos.s3.example.com:3900`.
    @param root_domain The `[s3_api] root_domain`, e.g. `.s3.example.com` (leading dots ignored).
    @return The bucket name, lower-cased (`photos`), or `nullopt` if the host is not strictly
    below the root domain (or the root domain is empty). */
std::optional<std::string> host_to_bucket(std::string_view host, std::string_view root_domain);

/** Percent-decodes a path or query component (`+` is kept as is).
    @param s The encoded text.
    @return The decoded text; `route_error::bad_encoding` for a `%` not followed by two hex
    digits, or if the result is not valid UTF-8. */
util::result<std::string> percent_decode(std::string_view s);

} // namespace garage::api::s3

template <>
struct boost::system::is_error_code_enum<garage::api::s3::route_error> : std::true_type {
};
