#pragma once
/** @file
    CORS rule matching (GARAGE-REFERENCE §1.15): which rule of a bucket answers a request with
    an `Origin` header, and the `Access-Control-*` headers it produces. Pure functions, shared
    by the S3 API (preflight and responses) and the website endpoint. */

#include <garage/model/bucket.hpp>

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::api::s3 {

/** What a request asks of CORS: its `Origin`, its method (for a preflight, the
    `Access-Control-Request-Method`) and the headers it will send (for a preflight,
    `Access-Control-Request-Headers`). */
struct cors_request {
    std::string_view origin;                 ///< the `Origin` header
    std::string_view method;                 ///< the (requested) method, e.g. `PUT`
    std::vector<std::string_view> headers{}; ///< the (requested) header names
};

/** Matches `value` against a pattern in which each `*` stands for any run of characters.
    @param pattern          The pattern, e.g. an origin with `*` for a subdomain, or `x-amz-*`.
    @param value            The value.
    @param case_insensitive Compare letters ignoring ASCII case (header names).
    @return Whether the whole of `value` matches. */
bool cors_wildcard_match(std::string_view pattern, std::string_view value, bool case_insensitive = false);

/** Splits an `Access-Control-Request-Headers` value (`a, b,c`) into trimmed, non-empty names.
    @param value The header value.
    @return Views into `value`. */
std::vector<std::string_view> split_header_list(std::string_view value);

/** Whether one rule allows a request: one of its origins matches (wildcards allowed), one of
    its methods is the request's (or `*`), and each requested header matches one of its
    allowed headers (wildcards allowed, case-insensitive).
    @param rule The rule.
    @param req  The request.
    @return Whether the rule matches. */
bool cors_rule_matches(model::cors_rule const& rule, cors_request const& req);

/** The first rule that allows a request (S3 uses the first match).
    @param rules The bucket's rules, in order.
    @param req   The request.
    @return The rule, or null. */
model::cors_rule const* find_cors_rule(std::span<model::cors_rule const> rules, cors_request const& req);

/// Response headers, name and value.
using cors_header_list = std::vector<std::pair<std::string, std::string>>;

/** The `Access-Control-*` headers a matching rule adds to a response:
    `Access-Control-Allow-Origin` (`*` if the rule allows any origin, else the request's),
    `-Allow-Methods`, `-Allow-Headers` (on a preflight, the requested headers; otherwise the
    rule's), `-Expose-Headers`, `-Max-Age` (preflight only, when set), and `Vary`.
    @param rule      The matching rule.
    @param req       The request it matched.
    @param preflight Whether the request is an `OPTIONS` preflight.
    @return The headers, each list joined with `", "`; empty lists are left out. */
cors_header_list cors_response_headers(model::cors_rule const& rule, cors_request const& req, bool preflight);

} // namespace garage::api::s3
