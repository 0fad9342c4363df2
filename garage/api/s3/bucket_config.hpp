#pragma once
/** @file
    The XML bodies of the bucket configuration endpoints (GARAGE-REFERENCE §1.15–§1.17):
    `CORSConfiguration`, `WebsiteConfiguration` and `LifecycleConfiguration`, parsed and
    validated into the model's types and rendered back. Pure functions, without a server. */

#include <garage/api/s3/error.hpp>
#include <garage/model/bucket.hpp>

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api::s3 {

/** A parsed configuration, or the S3 error to answer (`MalformedXML`, `InvalidArgument`,
    `InvalidRequest` with 400, `NotImplemented` with 501). */
template <class T>
using config_result = boost::system::result<T, s3_error>;

/** Parses a `PutBucketCors` body.

    `CORSConfiguration` holds 1 to 100 `CORSRule`s; each has an optional `ID` (at most 255
    characters), one or more `AllowedOrigin`s and `AllowedMethod`s (`GET`, `PUT`, `HEAD`,
    `POST`, `DELETE`), any `AllowedHeader`s and `ExposeHeader`s, and an optional
    `MaxAgeSeconds`. An origin or allowed header has at most one `*`.
    @param body The request body.
    @return The rules; `MalformedXML` for bad XML or an unexpected or missing element;
            `InvalidRequest` for an unsupported method or a pattern with two wildcards. */
config_result<std::vector<model::cors_rule>> parse_cors_configuration(std::string_view body);

/** Renders the `GetBucketCors` body.
    @param rules The stored rules.
    @return The `CORSConfiguration` document. */
std::string render_cors_configuration(std::span<model::cors_rule const> rules);

/** Parses a `PutBucketWebsite` body.

    Either `RedirectAllRequestsTo` (`HostName`, optional `Protocol`) alone, or an
    `IndexDocument` whose `Suffix` is non-empty without `/`, an optional `ErrorDocument` with a
    non-empty `Key`, and optional `RoutingRules` (at most 50): each a `Condition`
    (`KeyPrefixEquals`, `HttpErrorCodeReturnedEquals` 4xx/5xx) and a `Redirect` (`HostName`,
    `Protocol` `http`/`https`, `ReplaceKeyPrefixWith` or `ReplaceKeyWith` but not both,
    `HttpRedirectCode` 3xx other than 300).
    @param body The request body.
    @return The configuration; `MalformedXML`, `InvalidArgument` or `InvalidRequest`. */
config_result<model::website_config> parse_website_configuration(std::string_view body);

/** Renders the `GetBucketWebsite` body.
    @param cfg The stored configuration.
    @return The `WebsiteConfiguration` document. */
std::string render_website_configuration(model::website_config const& cfg);

/** Parses a `PutBucketLifecycleConfiguration` body.

    `LifecycleConfiguration` holds 1 to 1000 `Rule`s with unique `ID`s; each has `Status`
    (`Enabled` or `Disabled`), a `Filter` (`Prefix`, `ObjectSizeGreaterThan`,
    `ObjectSizeLessThan`, or several of them inside `And`) or the older rule-level `Prefix`,
    and at least one action: `Expiration` (`Days` > 0, or a `Date` at midnight UTC) and/or
    `AbortIncompleteMultipartUpload` (`DaysAfterInitiation` > 0).
    @param body The request body.
    @return The rules; `MalformedXML`, `InvalidArgument` or `InvalidRequest`; `NotImplemented`
            for `Transition`, `NoncurrentVersion*`, `ExpiredObjectDeleteMarker` and `Tag`
            filters, which this server does not apply. */
config_result<std::vector<model::lifecycle_rule>> parse_lifecycle_configuration(std::string_view body);

/** Renders the `GetBucketLifecycleConfiguration` body.
    @param rules The stored rules.
    @return The `LifecycleConfiguration` document. */
std::string render_lifecycle_configuration(std::span<model::lifecycle_rule const> rules);

/** Parses an ISO 8601 date-time at midnight UTC (`2024-05-01T00:00:00Z`, with optional
    fractional seconds and a `+00:00` offset), or a bare date (`2024-05-01`).
    @param text The text.
    @return The date as `yyyy-mm-dd`, or nullopt if it is not a valid date at midnight UTC. */
std::optional<std::string> parse_midnight_date(std::string_view text);

} // namespace garage::api::s3
